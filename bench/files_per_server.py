"""Files belonging to one server in a built site: a path component is the server's name (tag pages excluded)."""
import sys, os, json
site = sys.argv[1]
names = set()
for path in os.listdir(os.path.join(site, "api/v1/servers")):
    if path.endswith(".json"):
        names.add(path[:-5])
counts = {n: 0 for n in names}
for top, _, files in os.walk(site):
    rel = os.path.relpath(top, site)
    parts = [] if rel == "." else rel.split("/")
    if parts and parts[0] == "tags":
        continue
    for f in files:
        comps = parts + [f.removesuffix(".json")]
        owners = {c for c in comps if c in counts}
        if len(owners) == 1:
            counts[owners.pop()] += 1
vals = sorted(counts.values())
print(f"{len(names)} servers, {sum(vals)} files, {sum(vals)/len(names):.1f} per server ({vals[0]} to {vals[-1]})")
