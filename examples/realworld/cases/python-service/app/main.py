import json
import os

with open(os.path.join(os.environ["APP_HOME"], "settings.json")) as settings:
    print("python service, settings version", json.load(settings)["version"])
