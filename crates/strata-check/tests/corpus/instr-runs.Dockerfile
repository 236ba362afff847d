FROM debian:12.5
RUN echo a
RUN echo b
# a comment between
RUN echo c && echo d
RUN echo e && echo f && echo g
RUN echo h
RUN --mount=type=cache,target=/root/.cache echo i
RUN --mount=type=cache,target=/root/.cache echo j
WORKDIR /x
RUN echo k
RUN ["echo", "l"]
RUN --network=none echo m
RUN echo n
FROM debian:12.5
RUN echo o
