FROM debian:12
RUN (cd /tmp && make) && echo done
RUN { apt-get update && apt-get install -y --no-install-recommends zip=3.0; }
RUN if true; then sudo ls; fi
RUN echo "a | b" && echo 'c && cd d'
