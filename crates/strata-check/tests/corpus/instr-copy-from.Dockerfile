FROM golang:1.22 AS build
COPY --from=build /a /b
COPY --from=later /a /b
COPY --from=0 /a /b
COPY --from=1 /a /b
COPY --from=nginx:1.27 /etc/nginx /etc/nginx

FROM alpine:3.20 AS later
COPY --from=build /out /out
COPY --from=later /x /y
COPY --from=1 /a /b
COPY --from=2 /a /b
COPY --from=busybox /bin/sh /bin/sh
COPY --from=build /out /out2
