import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from guatu.demo.generator import demo_build, demo_summary
from guatu.org.services import ReferenceDataMissing

IMMEDIATE_BACKEND = "django_tasks.backends.immediate.ImmediateBackend"


class Command(BaseCommand):
    help = (
        "生成朝阳市“全市高质量项目建设年”演示数据（可重复运行，已有的不再重复生成），"
        "打印演示账号，并启动后台任务进程和开发服务器"
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="只生成数据，不启动服务器")
        parser.add_argument("--reset", action="store_true", help="先删除演示数据和演示账号，再重新生成")
        parser.add_argument("--host", default="127.0.0.1", help="服务器地址（默认 127.0.0.1）")
        parser.add_argument("--port", type=int, default=8000, help="服务器端口（默认 8000）")

    def handle(self, *args, **options):
        host, port = options["host"], options["port"]
        started = time.monotonic()
        try:
            result = demo_build(reset=options["reset"])
        except (ReferenceDataMissing, ValidationError) as err:
            raise CommandError("; ".join(getattr(err, "messages", [str(err)]))) from err
        self.stdout.write(demo_summary(result=result, host=host, port=port))
        self.stdout.write(f"\n用时 {time.monotonic() - started:.1f} 秒")
        if not options["no_serve"]:
            self.serve(host=host, port=port)

    def serve(self, *, host: str, port: int) -> None:
        """Run the background-job worker beside the development server; Ctrl-C stops both."""
        _check_port_free(host=host, port=port)  # runserver exits with os._exit on a busy port
        worker = None
        if settings.TASKS["default"]["BACKEND"] != IMMEDIATE_BACKEND:
            # Imports of many rows run as background jobs; without a worker they would wait forever.
            worker = subprocess.Popen([sys.executable, "-m", "guatu.cli", "db_worker"])
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        previous = _exit_on_signals()
        try:
            call_command("runserver", address, use_reloader=False)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if worker is not None:
                worker.terminate()
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()


def _exit(signum, frame):
    raise SystemExit(128 + signum)


def _exit_on_signals() -> dict:
    """`kill` or a closed terminal ends the server the way Ctrl-C does, so the worker is stopped too
    (by default SIGTERM ends Python without running `finally`)."""
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            previous[signum] = signal.signal(signum, _exit)
        except ValueError:  # not the main thread: leave the defaults
            break
    return previous


def _check_port_free(*, host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise CommandError(
                f"无法在 {host}:{port} 启动服务器：{err.strerror}（可用 --port 换一个端口）"
            ) from err
