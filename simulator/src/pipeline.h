// pipeline.h: how the simulator drives a module: the request pipeline in IIS order, the
// non-deterministic notifications (send response, read entity, map path), and the global
// notifications.
#ifndef IIS_SIMULATOR_PIPELINE_H
#define IIS_SIMULATOR_PIPELINE_H

#include "context.h"

// Runs one request from GL_PRE_BEGIN_REQUEST to the module's Dispose.
void run_request(const ScriptRequest* sr);

// Delivers one request-level notification to the request's module if it registered for it
// (and did not disable it), handling RQ_NOTIFICATION_PENDING and PostCompletion.
REQUEST_NOTIFICATION_STATUS deliver(RequestState* rs, DWORD notification, bool post);

// Delivers a global notification to the global module if it registered for it. `argument` is
// the path of a configuration or file change.
void deliver_global(DWORD notification, RequestState* rs, const wchar_t* argument);

// Fills the IIS log fields of the request (ISendResponseProvider::GetLogData).
void fill_log_fields(RequestState* rs, HTTP_LOG_FIELDS_DATA* fields);

// Retires every request still kept for late-call detection (at shutdown).
void release_retired_requests();

#endif
