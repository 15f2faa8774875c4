"""The book: the notebooks' shared code, their build with papermill and jupyter-book, publishing.

- `build`: `python -m breastnet.book`: train what the profile's book needs, run every notebook
  template with papermill into `book/generated/`, then jupyter-book (`build_book`);
- `page`: what a notebook works with (`setup`, `Page`): the profile, the dataset, its runs;
- `publish`: the Sphinx hooks of the published site and the PDF.
"""

from .build import BookBuild, build_book, main, plan_notebooks, run_notebooks, train_all, transfer_request

__all__ = ["BookBuild", "build_book", "main", "plan_notebooks", "run_notebooks", "train_all", "transfer_request"]
