#!/usr/bin/env bash
# The demo `exec` processing module. billops runs it as BILLmanager runs a module:
#   demo-module.sh --command <intname> --item <service id> --runningoperation <operation id>
# with the operation as JSON in $BILLOPS_OPERATION. It takes a moment, then succeeds most of the
# time; otherwise it prints a BILLmanager error document and exits non-zero, as a real module
# whose panel is down or whose node is full would. Set DEMO_MODULE_FAIL=always|never to force it.
set -u
command="" item="" op=""
while [ $# -gt 0 ]; do
  case "$1" in
    --command) command="$2"; shift 2 ;;
    --item) item="$2"; shift 2 ;;
    --runningoperation) op="$2"; shift 2 ;;
    *) shift ;;
  esac
done
echo "[demo-module] $command of service $item (operation $op)"
echo "[demo-module] connecting to the panel"
sleep "0.$(( RANDOM % 9 + 1 ))"
roll=$(( RANDOM % 100 ))
case "${DEMO_MODULE_FAIL:-}" in always) roll=0 ;; never) roll=99 ;; esac
if [ "$roll" -lt 25 ]; then
  case $(( RANDOM % 3 )) in
    0) type=client; object=connect; msg="Could not connect to the panel: connection refused" ;;
    1) type=quota; object=disk; msg="Not enough disk space on the node" ;;
    *) type=value; object=ip; msg="No free IP address in the node's pool" ;;
  esac
  echo "[demo-module] ERROR $msg"
  echo "<doc><error type=\"$type\" object=\"$object\"><msg>$msg</msg></error></doc>"
  exit 1
fi
echo "[demo-module] $command done"
