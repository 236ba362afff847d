FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends curl=7 && rm -r /var/lib/apt/lists
RUN apt-get update && apt-get install -y --no-install-recommends curl=7 && rm -rf /tmp/x
RUN --mount=type=cache,target=/var/lib/apt/lists apt-get update && apt-get install -y --no-install-recommends curl=7
RUN --mount=type=cache,target=/var/lib/apt --mount=type=cache,target=/var/cache/apt apt-get update
RUN --mount=type=cache,target=/var/lib/apt apt-get update
RUN aptitude update
RUN apt-get update && rm -fr /var/lib/apt/lists/*
