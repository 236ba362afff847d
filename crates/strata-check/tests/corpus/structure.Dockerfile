FROM debian:12 AS base
WORKDIR app
WORKDIR /srv
RUN apt update && apt install -y curl
RUN ln -sf /bin/bash /bin/sh
CMD ["a"]
CMD ["b"]
ENTRYPOINT ["/a"]
ENTRYPOINT ["/b"]
FROM debian:12 AS base
CMD ["c"]
