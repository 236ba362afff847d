FROM ubuntu:22.04
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && \
    DEBIAN_FRONTEND=noninteractive apt-get -qq install \
      build-essential \
      python3=3.10.6-1 && \
    apt-get clean
RUN apt-get install -y --no-install-recommends vim
