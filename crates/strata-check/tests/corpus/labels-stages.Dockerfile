FROM golang:1.22 AS deps
RUN go version

FROM deps AS build
LABEL maintainer="team@example.com"

FROM build AS test
RUN go vet ./...

FROM debian:12.5 AS unused
RUN true

FROM debian:12.5 AS runtime
COPY --from=deps /go /go
LABEL org.opencontainers.image.version="2.0.0"

FROM runtime
HEALTHCHECK CMD ["true"]
