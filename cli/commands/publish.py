"""energiepost publish: upload a file through the ingest API."""
from __future__ import annotations

from pathlib import Path

import requests

from cli import output
from cli.registry import arg, command
from cli.runtime import NOT_FOUND, REFUSED, UNAVAILABLE, USAGE, CliError, ingest_key, settings
from cli.upload import ProgressBar, check_local_file, upload_body

STATUSES = {400: USAGE, 404: NOT_FOUND, 503: UNAVAILABLE, 504: UNAVAILABLE}


@command("publish", help="publish a file for a community (prints its id last)",
         example="energiepost publish zonnedelen-gent ./correcties-2026-10.csv --kind periodic",
         args=[arg("community_id", metavar="ID", help="the community's id, e.g. zonnedelen-gent"),
               arg("file", metavar="FILE", help="the file to publish, e.g. ./correcties-2026-10.csv"),
               arg("--kind", choices=("periodic", "adhoc"), default="periodic",
                   help="periodic: periodiek bestand (default); adhoc: ad-hoc communicatie"),
               arg("--shared-by", dest="shared_by", metavar="NAME",
                   help="shown as 'Gedeeld door' (default: OPERATOR_NAME of the services), e.g. 'Fluvius'")])
def publish(args) -> None:
    path = Path(args.file)
    problem = check_local_file(path)
    if problem:
        raise CliError(problem, USAGE)
    url = f"{settings().api_url}/api/v1/communities/{args.community_id}/files"
    with path.open("rb") as handle:
        body = upload_body(handle, path.name, {"kind": args.kind, "shared_by": args.shared_by},
                           ProgressBar(f"uploading {path.name}"))
        try:
            response = requests.post(
                url, data=body, timeout=(10, 600),
                headers={"Authorization": f"Bearer {ingest_key()}", "Content-Type": body.content_type},
            )
        except requests.RequestException as exc:
            raise CliError(
                f"the upload to {settings().api_url} failed ({type(exc).__name__}); is the system running? "
                "(a very large file may also have been refused before it was sent)", UNAVAILABLE
            ) from None
    if response.status_code != 201:
        raise CliError(f"publish refused ({response.status_code}): {output.api_error(response)}",
                       STATUSES.get(response.status_code, REFUSED))
    file = response.json()

    def show(f):
        output.published(f, args.kind)
        print(f["id"])

    output.emit(args, file, show)
