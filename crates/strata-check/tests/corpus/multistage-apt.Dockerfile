FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3
FROM build AS test
RUN make test
FROM debian:12-slim
COPY --from=build /out /out
RUN apt-get update && apt-get install -y --no-install-recommends libc6=2.36
