# The NeuralTalk webhook: `docker build -t neuraltalk .` then
# `docker run -p 8080:8080 -e NEURALTALK_WECHAT_TOKEN=... -v neuraltalk-data:/app/data neuraltalk`.
# Configuration comes from NEURALTALK_<SECTION>_<KEY> variables (or a file named by
# NEURALTALK_CONFIG); the index of issues/ is built into the image at build time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --home-dir /app --uid 10001 neuraltalk
WORKDIR /app

# Dependencies and package first, so that editing issues/ does not reinstall them. The source is
# built in /src and removed, so that /app holds only data (no `index/` package beside the index).
COPY pyproject.toml README.md /src/
COPY bot /src/bot
COPY index /src/index
RUN pip install /src && rm -rf /src

ENV NEURALTALK_ARCHIVE_ISSUES_DIR=/app/issues \
    NEURALTALK_ARCHIVE_INDEX_DIR=/app/search-index \
    NEURALTALK_STORAGE_URL=sqlite:////app/data/neuraltalk.db \
    NEURALTALK_SERVER_HOST=0.0.0.0 \
    NEURALTALK_SERVER_PORT=8080

COPY --chown=neuraltalk:neuraltalk issues ./issues
RUN mkdir -p /app/search-index /app/data \
    && chown neuraltalk:neuraltalk /app/search-index /app/data
USER neuraltalk
RUN neuraltalk ingest

VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('NEURALTALK_SERVER_PORT', '8080'), timeout=4)"]
CMD ["neuraltalk", "serve"]
