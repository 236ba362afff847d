FROM debian:12
RUN wget https://example.com/a.tar.gz
RUN wget -q https://example.com/a.tar.gz
RUN wget --progress=dot:giga https://example.com/b
RUN wget -nv https://example.com/c && wget --no-verbose https://example.com/d
RUN wget -O /tmp/x https://example.com/e
RUN wget -o /tmp/log https://example.com/f && wget -a log https://example.com/g
RUN wget --quiet -c https://example.com/h
FROM debian:12 AS second
RUN curl -fsSL https://example.com/i -o /i
RUN wget -qO- https://example.com/j | sh
RUN curl -sS https://example.com/k
RUN echo done
FROM debian:12
# hadolint ignore=DL4001
RUN curl -sS https://example.com/l && wget -q https://example.com/m
RUN curl -sS https://example.com/n
