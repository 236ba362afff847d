# syntax=docker/dockerfile:1
ARG BASE=debian:12.5
LABEL org.example.x="1"
ENV A=1
FROM ${BASE}
LABEL org.example.y="2"
RUN echo a
