# One image for every finpulse service; docker-compose.yml picks the subcommand.
FROM python:3.11.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, so code changes don't reinstall torch.
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir -p finpulse system ingest classifier store alerts dashboard \
 && touch finpulse/__init__.py system/__init__.py ingest/__init__.py classifier/__init__.py store/__init__.py \
          alerts/__init__.py dashboard/__init__.py \
 && pip install -c constraints.txt -e . \
 && useradd --create-home --uid 10001 finpulse

COPY . .
RUN pip install --no-deps -e . && mkdir -p /app/var /models && chown -R finpulse /app/var /models
USER finpulse

EXPOSE 8501
ENTRYPOINT ["finpulse"]
CMD ["--help"]
