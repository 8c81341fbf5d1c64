set -e
curl -fsSL http://example.com/install.sh | sh -s -- --yes
wget -qO- "http://example.com/$(uname -m)/get" | bash
