# gzsync in a container: built from this source tree (no package index is asked for
# gzsync itself), running a sync every two hours. docs/DEPLOY.md explains each step;
# tests/test_dockerfile.py keeps the two in step.
FROM python:3.11-slim
WORKDIR /opt/gzsync
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; server = set(p['optional-dependencies']['server']); print('\n'.join(d for d in p['dependencies'] if d not in server))" > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt && pip install --no-cache-dir --no-deps . \
 && useradd --create-home --uid 10001 gzsync && install -d -o gzsync -m 0700 /data
USER gzsync
WORKDIR /data
ENV STATE_DB=/data/state.db
VOLUME /data
STOPSIGNAL SIGTERM
CMD ["gzsync", "schedule", "--every", "2h", "--log-format", "json"]
