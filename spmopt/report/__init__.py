"""HTML report and plots."""

from spmopt.report.build import SECTIONS, build_report

__all__ = ["SECTIONS", "build_report"]
