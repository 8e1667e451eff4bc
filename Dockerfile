# One image for every target and for the Locust master and workers: the same code as `pip install .`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bench ./bench
COPY targets ./targets
COPY scenarios ./scenarios
RUN pip install .

# PostgreSQL refuses to run as root, and the targets have no need for it.
RUN useradd --create-home --uid 10001 bench && mkdir -p /data/keys /data/results && chown -R bench /data
USER bench
EXPOSE 8000
CMD ["uvicorn", "targets.floor.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
