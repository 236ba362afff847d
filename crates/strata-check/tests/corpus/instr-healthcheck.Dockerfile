FROM nginx:1.27 AS web
HEALTHCHECK CMD curl -f http://localhost/ || exit 1
HEALTHCHECK --interval=30s CMD curl -f http://localhost/health || exit 1

FROM web AS web2
HEALTHCHECK NONE

FROM alpine:3.20
HEALTHCHECK CMD true
EXPOSE 80
HEALTHCHECK CMD false
HEALTHCHECK CMD true
