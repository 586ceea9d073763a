# The yuqing image used by docker-compose.yml: the project installed with its config.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_ROOT_USER_ACTION=ignore YUQING_CONFIG_DIR=/app/config
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY responders ./responders
COPY tasks ./tasks
COPY config ./config
RUN pip install --no-cache-dir '.[s3]' && useradd --create-home yuqing \
    && mkdir -p /var/lib/yuqing && chown yuqing /var/lib/yuqing
USER yuqing
