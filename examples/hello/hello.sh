#!/bin/sh
# A tiny "application": prints its greeting and the static files it ships.
[ "$1" = "--check" ] && exit 0
echo "hello from strata (TZ=$TZ)"
ls /app/static
