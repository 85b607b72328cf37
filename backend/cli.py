"""The `semvec` command line: train, align, analyze, project, export, runs, distill.

User errors (a bad name, a missing file, an unsafe checkpoint) print one line and exit 2;
only bugs print a traceback.
"""

import argparse
import sys

from backend.core.errors import SemvecError
from backend.training.config import ALIGN_STEPS


def _add_data(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument(
        "--dataset",
        default="digits",
        help="digits | mnist | fashion_mnist | cifar10 | cifar100 | imagefolder",
    )
    g.add_argument("--root", help="dataset root (torchvision sets) or folder (imagefolder)")
    g.add_argument(
        "--image-size", type=int, help="resize to this side (photos: the short side), in px"
    )
    g.add_argument("--crop", type=int, help="then centre-crop to this square side, in px")
    g.add_argument("--mean", type=_floats, help="per-channel mean, e.g. 0.49,0.48,0.45")
    g.add_argument("--std", type=_floats, help="per-channel std, e.g. 0.20,0.20,0.20")
    g.add_argument(
        "--channels", type=int, choices=[1, 3], help="3 repeats a grey channel, 1 averages RGB"
    )
    g.add_argument("--data-seed", type=int, default=0, help="fixes the train/val/test split")
    g.add_argument(
        "--download",
        action="store_true",
        help="download missing torchvision files and published weights (needs a network)",
    )


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers"
        ) from err


def _add_align(p: argparse.ArgumentParser, steps: int) -> None:
    g = p.add_argument_group("semantic alignment")
    g.add_argument("--dim", type=int, default=64, help="length of each semantic vector")
    g.add_argument(
        "--subset", type=int, default=2048, help="neurons sampled per step when N is larger"
    )
    g.add_argument("--align-lr", type=float, default=0.03, help="Adam learning rate of the vectors")
    g.add_argument("--align-steps", type=int, default=steps, help="frozen alignment steps")
    g.add_argument("--align-batch-size", type=int, default=128, help="images per alignment step")
    g.add_argument(
        "--align-init",
        choices=("eigen", "random"),
        default="eigen",
        help="start from the training correlation's eigenvectors (default) or at random",
    )
    g.add_argument(
        "--layers",
        help="comma-separated module paths or globs, e.g. layer3.*,fc (default: `semvec layers`)",
    )
    g.add_argument(
        "--device",
        default=None,
        help="auto | cpu | cuda | cuda:N (default: $SEMVEC_DEVICE or auto)",
    )
    g.add_argument("--no-amp", action="store_true", help="no autocast on CUDA")
    g.add_argument("--name", help="run name (default: <arch>-<dataset>-<time>)")
    g.add_argument("--no-analyze", action="store_true", help="skip analysis and the PCA map")


_ARCH_HELP = (
    "architecture: a zoo name (`semvec models`), torchvision:NAME[@WEIGHTS], timm:NAME, "
    "plugin:NAME, or your own path/to/file.py:function / package.module:function"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semvec", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model with semantic alignment")
    p.add_argument("--arch", default="digits_cnn", help=_ARCH_HELP)
    p.add_argument("--epochs", type=int, default=30, help="passes over the training split")
    p.add_argument("--batch-size", type=int, default=128, help="images per training step")
    p.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (cosine schedule)")
    p.add_argument("--seed", type=int, default=0, help="initialisation and batch order")
    p.add_argument(
        "--augment",
        action="store_true",
        help="random shifts (and mirror flips where the classes allow) while training",
    )
    p.add_argument("--align-weight", type=float, default=1.0, help="lambda_align")
    p.add_argument(
        "--align-grad",
        action="store_true",
        help="let the alignment gradient reach the network (default: detached)",
    )
    _add_data(p)
    _add_align(p, steps=600)

    p = sub.add_parser("align", help="learn semantic vectors for a loaded, frozen model")
    p.add_argument("--run", help="an existing run to re-align")
    p.add_argument(
        "--checkpoint", help="a .safetensors file, or a weights-only torch file (.pt, .pth, .th)"
    )
    p.add_argument("--arch", help=_ARCH_HELP)
    p.add_argument(
        "--gpus",
        type=int,
        default=1,
        metavar="N",
        help="processes sharing the pass over the images, one per GPU (CPU cores on a machine "
        "without one), launched by torchrun; rank 0 merges their statistics and writes the "
        "run. Across machines, start `torchrun -m backend.cli align ...` on each instead",
    )
    _add_data(p)
    _add_align(p, steps=ALIGN_STEPS)

    p = sub.add_parser("analyze", help="top-k images, class selectivity, histograms per neuron")
    p.add_argument("run", help="the run to analyse")
    p.add_argument("--split", default="all", choices=["train", "val", "test", "all"])
    p.add_argument("--k", type=int, default=9, help="top images kept per neuron")
    p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N")

    p = sub.add_parser("project", help="2-D map of a run's vectors (cached)")
    p.add_argument("run")
    p.add_argument("--method", default="umap", choices=["umap", "tsne", "pca"])
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="e.g. n_neighbors=30, min_dist=0.2, perplexity=20, seed=1",
    )

    p = sub.add_parser("export", help="TensorBoard projector TSVs and a neurons CSV")
    p.add_argument("run")
    p.add_argument("--out", help="folder (default: <run>/export)")

    p = sub.add_parser("knowledge", help="write a run's knowledge file (static distillation)")
    p.add_argument("run")
    p.add_argument("--layers", help="hint layers besides the logit layer, comma-separated")
    p.add_argument("--out", help="file (default: <run>/knowledge.safetensors)")

    p = sub.add_parser("distill", help="distill students from a teacher (one run per seed)")
    p.add_argument("--teacher", help="the teacher's run")
    p.add_argument("--knowledge", help="static: train from this knowledge file alone")
    p.add_argument("--student", default="digits_cnn_small", help="the student's architecture")
    p.add_argument(
        "--method",
        default="static",
        help="ce | ls | tfkd | kd | rkd | sp | static | static_free | static_corr",
    )
    p.add_argument("--seeds", type=int, default=1, help="students with seeds 0..N-1")
    p.add_argument("--epochs", type=int, default=30, help="passes over the training set")
    p.add_argument("--lam", type=float, help="weight of the method's term (default: its own)")
    p.add_argument("--temperature", type=float, help="kd, tfkd, static (default 4, 20, 20)")
    p.add_argument("--beta", type=float, help="static: soft target sharpness β (default 4)")
    p.add_argument("--rho", type=float, help="static: feature-relation weight ρ (default 1)")
    p.add_argument("--train-size", type=int, help="a stratified subset of the train split")
    p.add_argument("--hint-layers", help="static, sp: layers to match (path or teacher=student)")
    p.add_argument("--batch-size", type=int, default=64, help="images per training step")
    p.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (cosine schedule)")
    p.add_argument(
        "--align-steps",
        type=int,
        default=ALIGN_STEPS,
        help="the students' vectors: steps after the eigen-start",
    )
    p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N")
    p.add_argument("--name", help="run name prefix (runs are NAME-s<seed>)")
    p.add_argument("--no-analyze", action="store_true", help="skip analysis and the PCA map")

    sub.add_parser("runs", help="list runs in the data home")

    p = sub.add_parser("serve", help="the API server (with its job runner)")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (beyond loopback: needs a token)"
    )
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--slots", type=int, default=0, help="jobs at once (0: 1 per GPU, or 1)")
    p.add_argument(
        "--access-log",
        action="store_true",
        help="log a line per request (off by default: the page makes many, which would bury "
        "the warnings)",
    )

    p = sub.add_parser("jobs", help="list, submit, follow, cancel and resume jobs")
    jobs = p.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    q = jobs.add_parser("list", help="jobs, newest first")
    q.add_argument(
        "--state", help="queued | running | succeeded | failed | cancelled | interrupted"
    )
    q.add_argument("--kind", help="train | align | distill | ... (GET /api/jobs/kinds)")
    q = jobs.add_parser("submit", help="queue a job: semvec jobs submit train '{\"epochs\": 5}'")
    q.add_argument("kind", help="the job kind: train, align, analyze, project, distill, ...")
    q.add_argument("config", nargs="?", default="{}", help="the kind's settings as JSON")
    q.add_argument("--follow", action="store_true", help="then follow it")
    for action in ("show", "follow", "cancel", "resume"):
        jobs.add_parser(action, help=f"{action} a job").add_argument("job_id", type=int)
    q = jobs.add_parser("work", help="run queued jobs here until the queue is empty")
    q.add_argument("--slots", type=int, default=0, help="jobs at once (0: 1 per GPU, or 1)")
    p = sub.add_parser("models", help="list architectures, by source")
    p.add_argument("--all", action="store_true", help="every name (timm has over a thousand)")

    p = sub.add_parser(
        "layers", help="a model's modules with output shape and channels, and the default probe"
    )
    p.add_argument("target", metavar="ARCH_OR_RUN", help="an architecture reference or a run")
    p.add_argument("--layers", help="show this selection instead of the default (names, globs)")
    _add_data(p)
    p.set_defaults(dataset=None)

    p = sub.add_parser(
        "quickstart", help="the digits default, end to end, from the shipped checkpoint"
    )
    p.add_argument("--force", action="store_true", help="rebuild the default run")

    p = sub.add_parser("default-checkpoint", help="re-make the shipped digits teacher checkpoint")
    p.add_argument("--epochs", type=int, default=40, help="passes over the digits")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to start torchrun's ranks
    from backend.commands import COMMANDS

    try:
        return COMMANDS[args.command](args) or 0
    except SemvecError as err:
        print(f"semvec {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
