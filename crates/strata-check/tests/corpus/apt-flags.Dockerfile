FROM debian:12
RUN apt-get -y install --no-install-recommends curl=1
RUN apt-get install --yes -o APT::Install-Recommends=false wget=1
RUN apt-get -qy install --no-install-recommends ./local.deb
RUN apt-get install -y --no-install-recommends -t bookworm-backports git/bookworm-backports
RUN apt-get update; apt-get install -y --no-install-recommends jq=1.6; rm -rf /var/lib/apt/lists/*
