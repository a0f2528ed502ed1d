#!/bin/sh
# The smallest CGI script: a header block, a blank line, a body.
printf 'Content-Type: text/plain; charset=utf-8\n\n'
printf 'Hello from a CGI script.\n\nSCRIPT_NAME=%s\nPATH_INFO=%s\nQUERY_STRING=%s\nREMOTE_ADDR=%s\n' \
  "$SCRIPT_NAME" "$PATH_INFO" "$QUERY_STRING" "$REMOTE_ADDR"
