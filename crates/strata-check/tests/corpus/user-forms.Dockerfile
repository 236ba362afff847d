FROM debian:12
USER 0
FROM debian:12 AS two
USER root:root
USER 1000:1000
FROM debian:12
USER root
RUN id
