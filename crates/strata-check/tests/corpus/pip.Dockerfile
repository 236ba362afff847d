FROM python:3.12-slim
RUN pip install flask
RUN pip3 install --no-cache-dir requests==2.31.0
RUN python3 -m pip install --no-cache-dir -r requirements.txt
RUN pip install --no-cache-dir "django>=4" gunicorn
RUN python -m pip install --upgrade pip==24.0
