FROM python:3.12
RUN pip install --no-cache-dir --upgrade pip setuptools==69.0.0
RUN pip install --no-cache-dir -e . && pip install --no-cache-dir git+https://github.com/x/y.git
RUN pip install --no-cache-dir "numpy~=1.26" 'pandas<3' ./wheel-1.0-py3-none-any.whl
RUN pip3 install --user --no-cache-dir black
RUN /usr/local/bin/pip install --no-cache-dir --index-url https://pypi.org/simple requests==2
