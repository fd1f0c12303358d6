"""Solution to 08.1: the notebook's own experiment catches the mutant, made smaller. What makes it
bite is `timeout_rate`: the bank loses answers after paying, the host's two attempts both go
unanswered now and then, and the mutant's loop asks again with a fresh key, which the bank pays
again. `money-is-conserved` sees the money made. (With `timeout_rate: 0` the mutant passes: a test
needs the fault that the mistake mishandles.)

Run notebook 08 first: it writes the folder my-worker/mywallet/ that this file tests."""

from pathlib import Path

from golemsim.teach import check

APP = Path("my-worker/mywallet")
if not (APP / "experiment.yaml").is_file():
    raise SystemExit(f"no {APP}/experiment.yaml here: run notebook 08 first, from the notebooks folder")
text = (APP / "experiment.yaml").read_text()
small = text.replace("operations: 90", "operations: 40").replace("name: wallets", "name: 08.1 wallets")
answer = APP / "experiment-08-1.yaml"
answer.write_text(small)
grade = check("08.1", answer)
