//! MSVC's vtable slot order, derived from declaration order.
//!
//! A class's vtable is its base's, followed by the virtual methods the class introduces. MSVC
//! groups overloads (same name; a `const` twin counts) at the position of the first one and
//! lists each group in reverse declaration order. A virtual destructor takes one slot, the
//! scalar deleting destructor. The layout tests check the result against clang's MSVC dump.

use crate::model::{Class, Method};

/// One vtable slot introduced by a class.
#[derive(Debug, Clone)]
pub struct Slot<'a> {
    /// Rust field name: the C++ name, `_2`, `_3`, … for later overloads in declaration order,
    /// `Destructor` for the destructor.
    pub field: String,
    pub method: &'a Method,
}

/// The slots a class introduces, in MSVC order.
pub fn own_slots(class: &Class) -> Vec<Slot<'_>> {
    // Overload groups in order of first appearance, each holding declaration indices.
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (index, method) in class.methods.iter().enumerate() {
        let key = if method.is_destructor { "~" } else { method.name.as_str() };
        match groups.iter_mut().find(|(name, _)| *name == key) {
            Some((_, members)) => members.push(index),
            None => groups.push((key, vec![index])),
        }
    }
    let mut slots = Vec::new();
    for (_, members) in &groups {
        for (ordinal, &index) in members.iter().enumerate().rev() {
            let method = &class.methods[index];
            let field = if method.is_destructor {
                "Destructor".to_string()
            } else if ordinal == 0 {
                method.name.clone()
            } else {
                format!("{}_{}", method.name, ordinal + 1)
            };
            slots.push(Slot { field, method });
        }
    }
    slots
}
