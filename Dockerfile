# Guildhall node image: `guildhall serve` on port 8000 as an unprivileged user.
# Configuration comes from GUILDHALL_* environment variables (see docs/getting-started.md),
# or from /data/guildhall.toml when a volume holding one is mounted at /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The build context is filtered by .dockerignore: no .venv, var/, guildhall.toml or tests.
COPY . /tmp/guildhall
RUN pip install /tmp/guildhall && rm -rf /tmp/guildhall

RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home guildhall \
    && mkdir -p /data/media \
    && chown -R guildhall:guildhall /data
USER guildhall
# Relative paths in the configuration (a SQLite file, media_dir) resolve against this directory.
WORKDIR /data
ENV GUILDHALL_MEDIA_DIR=/data/media

EXPOSE 8000
CMD ["guildhall", "serve", "--host", "0.0.0.0"]
