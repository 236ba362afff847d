FROM debian:12
ENTRYPOINT /usr/bin/app --serve
CMD ["--port", "8080"]
CMD app --port 8080
