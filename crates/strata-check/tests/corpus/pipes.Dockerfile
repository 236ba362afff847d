FROM debian:12
RUN curl -fsSL https://example.com/install.sh | sh
RUN echo a || echo b
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN wget -O - https://example.com/x | tar xz
FROM debian:12
RUN cat /etc/os-release | grep ID
