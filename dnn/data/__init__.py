"""dnn.data: datasets, from the files people have to the chunks the trainer streams.

No card and no training here. The modules, each with one job:

    rows.py      rows of a split in bounded blocks, normalized (the readers' common ground)
    idx.py       IDX files (MNIST's format), raw or gzip
    csvfile.py   CSV files, plain or gzip
    npz.py       NumPy .npz files
    named.py     the datasets known by name (fashion-mnist, mnist-5k) and where they come from
    install.py   the only place that runs apt-get or pip, always saying so
    sources.py   open_source: which reader a SOURCE argument needs
    writer.py    convert: a source as a chunked HDF5 file
    reader.py    ChunkReader: chunks of that file into the trainer's buffers
    describe.py  info: what a chunked file holds, as text
    folders.py   where datasets and downloads live
    default.py   default_dataset: what the commands use without --data
"""

from .default import default_dataset
from .describe import info
from .folders import cache_dir, data_dir
from .named import NAMED
from .reader import SPLITS, ChunkReader, check_split, open_dataset, stored_scale
from .rows import Source, SplitSource
from .sources import open_source
from .writer import convert, default_chunk_rows

__all__ = ["NAMED", "SPLITS", "ChunkReader", "Source", "SplitSource", "cache_dir", "check_split", "convert",
           "data_dir", "default_chunk_rows", "default_dataset", "info", "open_dataset", "open_source",
           "stored_scale"]
