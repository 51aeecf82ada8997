# HCC evidence dashboard: one replica = one Streamlit process (one core). The evidence
# store is read-only at run time and versioned in git, so replicas share nothing and
# scale sideways: several containers on one host behind deploy/nginx.conf (ports 8501,
# 8502, ...), or deploy/kubernetes.yaml.
FROM python:3.11-slim-bookworm

# chromium: server-side figure export (kaleido) and the PDF tumor-board brief render through it; no browser download.
RUN apt-get update && apt-get install -y --no-install-recommends chromium \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 dashboard
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY --chown=dashboard:dashboard . .

USER dashboard
# browser.serverAddress: headless Streamlit would otherwise look up its external address
# at an outside host at every start.
ENV STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_SERVER_ADDRESS=localhost \
    HCC_CHROMIUM=/usr/bin/chromium
EXPOSE 8501
# /_stcore/health can take seconds while a whole tumor board opens its links at once:
# only a replica silent for minutes is unhealthy (deploy/kubernetes.yaml: liveness).
HEALTHCHECK --interval=30s --timeout=20s --retries=6 --start-period=60s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=19)"
CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0"]
