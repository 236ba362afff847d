FROM debian:12.5 AS build
# hadolint ignore=DL3059
RUN echo a
RUN echo b
HEALTHCHECK CMD true

FROM build AS inherits
RUN echo c

FROM alpine:3.20 AS none
RUN echo d

FROM alpine:3.20
# a plain comment
COPY --from=none /x /x
