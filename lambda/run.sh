#!/bin/sh
# The streaming function's handler. The Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap) runs this
# script, waits until the app answers AWS_LWA_READINESS_CHECK_PATH, then forwards each function URL request to
# it on AWS_LWA_PORT and streams the answer back (AWS_LWA_INVOKE_MODE=response_stream).
PYTHONPATH="${LAMBDA_TASK_ROOT:-$(dirname "$0")}${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
exec "${PYTHON:-$(command -v python3 || command -v python)}" -m invoke_proxy.http_server
