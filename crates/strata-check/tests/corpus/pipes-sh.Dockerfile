FROM alpine:3.19
SHELL ["/bin/ash", "-c"]
RUN echo hi | wc -c
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
RUN echo hi | wc -c
