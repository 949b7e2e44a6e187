"""Pixel-exact per-class object masks for CoinRun observations, by re-rendering each state.

Why re-render: the observation is drawn by procgen's own renderer (camera centred on the agent,
animation frame, mirroring, z-order, Qt's nearest-neighbour scaling). Replicating that in numpy
is slow and breaks with any renderer change; instead the *same* state is drawn a second time
with every class's sprites recoloured to one flat, fully opaque colour (enemy trails fully
transparent, backgrounds black), and each pixel's colour names its class. Exactness therefore
comes from the renderer itself; ``interpbench.game.mask_truth`` checks it independently.

Procgen loads its sprites once per loaded native library into global tables, so the recoloured
renderer needs its own copy of ``libenv.so`` (a copy is a different file, so the dynamic linker
loads it separately). Both the copy and the recoloured asset tree live in the cache directory,
built once per procgen version and recolouring spec, atomically.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from interpbench.data.frameset import MASK_CLASSES
from interpbench.game.env import deadlock_free_env, quiet_gym_import
from interpbench.game.procgen_state import CoinRunState, parse
from interpbench.infra.cache import cache_root
from interpbench.infra.errors import InterpbenchError

#: Flat colour of each class in the recoloured render. Red values are unique (one lookup decodes
#: a pixel) and no colour but the background's is grey, so the grey velocity boxes stand apart.
PALETTE: dict[str, tuple[int, int, int]] = {
    "background": (0, 0, 0),
    "agent": (240, 40, 40),
    "coin": (250, 220, 0),
    "enemy": (160, 0, 200),
    "saw": (120, 120, 255),
    "lava": (255, 100, 0),
    "crate": (140, 80, 20),
    "wall": (60, 160, 60),
}

_WALKING_ENEMIES = ("slimeBlock", "slimePurple", "slimeBlue", "slimeGreen", "mouse", "snail", "ladybug",
                    "wormGreen", "wormPink")

#: Asset files (globs under procgen's asset root) that CoinRun draws for each class
#: (``CoinRun::asset_for_type``). Each glob must match at least one file.
CLASS_SPRITES: dict[str, tuple[str, ...]] = {
    "agent": ("kenney/Players/128x256/*/*.png",),
    "coin": ("kenney/Items/coinGold.png",),
    "enemy": tuple(f"kenney/Enemies/{name}{pose}.png" for name in _WALKING_ENEMIES for pose in ("", "_move")),
    "saw": ("kenney/Enemies/sawHalf.png", "kenney/Enemies/sawHalf_move.png"),
    "lava": ("kenney/Tiles/lava.png", "kenney/Tiles/lavaTop_low.png"),
    "crate": ("kenney/Tiles/boxCrate*.png",),
    "wall": ("kenney/Ground/*/*Mid.png", "kenney/Ground/*/*Center.png"),
    # every image CoinRun may pick as its background (space backgrounds are appended to these)
    "background": ("platform_backgrounds/*.png", "platform_backgrounds_2/*.png", "space_backgrounds/*.png"),
}
#: Drawn fully transparent: enemy trails are translucent puffs that belong to what lies under them.
TRANSPARENT_SPRITES: tuple[str, ...] = ("misc_assets/iconCircle_white.png",)

_FORMAT = 2  # bump when the recolouring recipe changes: the cache key includes it


def _procgen_paths() -> tuple[str, Path, Path]:
    """(version, package dir, native library) of the installed procgen."""
    import procgen

    package = Path(procgen.__file__).resolve().parent
    return (package / "version.txt").read_text().strip(), package, package / "data" / "prebuilt" / "libenv.so"


def _recolour(src: Path, dst: Path, colour: tuple[int, int, int] | None, whole: bool) -> None:
    """Write ``src`` as one flat colour wherever its alpha is > 0 (a semi-transparent pixel,
    such as the agent's helmet, still hides what is under it), or everywhere if ``whole`` (a
    background, loaded without alpha); ``None`` makes it all transparent. The size is kept, so
    the renderer places and scales it exactly as the original."""
    from PIL import Image

    with Image.open(src) as image:
        if whole:
            Image.new("RGB", image.size, colour).save(dst)
            return
        alpha = np.asarray(image.convert("RGBA"))[..., 3] > 0
    out = np.zeros((*alpha.shape, 4), np.uint8)
    if colour is not None:
        out[alpha] = (*colour, 255)
    Image.fromarray(out, "RGBA").save(dst)


def _build_root(tmp: Path, package: Path, library: Path) -> None:
    """Lay out a procgen-like tree: ``procgen/data/prebuilt/libenv.so`` (a copy),
    ``procgen/data/assets`` (links to the real files, recoloured ones written), and links to the
    wheel's vendored ``*.libs`` folders, which the library finds via ``$ORIGIN/../../..``."""
    assets, out = package / "data" / "assets", tmp / "procgen" / "data"
    recoloured: dict[Path, str] = {}
    for name, patterns in [*CLASS_SPRITES.items(), ("transparent", TRANSPARENT_SPRITES)]:
        for pattern in patterns:
            matches = sorted(assets.glob(pattern))
            if not matches:
                raise InterpbenchError(f"procgen asset {pattern!r} not found under {assets}: unsupported procgen build")
            recoloured.update({m.relative_to(assets): name for m in matches})
    for src in assets.rglob("*"):
        rel = src.relative_to(assets)
        dst = out / "assets" / rel
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
        elif rel in recoloured:
            name = recoloured[rel]
            _recolour(src, dst, PALETTE.get(name), whole=name == "background")
        else:
            dst.symlink_to(src)
    (out / "prebuilt").mkdir(parents=True)
    shutil.copyfile(library, out / "prebuilt" / "libenv.so")
    for vendored in package.parent.glob("procgen*.libs"):
        (tmp / vendored.name).symlink_to(vendored.resolve())


def recoloured_root() -> Path:
    """The recoloured procgen tree for the installed procgen, built on first use.

    Keyed by procgen version and the recolouring spec; built in a temp dir and renamed into
    place, so concurrent builders never see (or leave) half a tree.
    """
    version, package, library = _procgen_paths()
    spec = json.dumps([_FORMAT, version, PALETTE, CLASS_SPRITES, TRANSPARENT_SPRITES], sort_keys=True)
    root = cache_root() / "procgen-masks" / f"{version}-{hashlib.sha256(spec.encode()).hexdigest()[:16]}"
    if root.is_dir():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        _build_root(tmp, package, library)
        os.rename(tmp, root)
    except OSError:
        if not root.is_dir():  # another process finishing first is fine; anything else is not
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


#: The native functions used on procgen envs here; their cffi accessors are made up front.
def open_render_env(num: int, root: Path | None = None):
    """A CoinRun env used only to draw given states (never stepped): the installed procgen, or
    with ``root`` the procgen-like tree of ``recoloured_root``.

    procgen hard-codes its library folder, so a small class placed between procgen's env and
    gym3's ``CEnv`` in the method resolution order swaps the ``lib_dir`` procgen passes on.
    """
    with quiet_gym_import():
        from gym3.libenv import CEnv
        from procgen import ProcgenGym3Env

    class _LibDirSwap(CEnv):
        def __init__(self, *, lib_dir: str, **kwargs) -> None:
            super().__init__(lib_dir=self._lib_dir_override or lib_dir, **kwargs)

    class _RenderEnv(ProcgenGym3Env, _LibDirSwap):
        _lib_dir_override = str(root / "procgen" / "data" / "prebuilt") if root else None

    kwargs = {"resource_root": str(root / "procgen" / "data" / "assets") + os.sep} if root else {}
    return deadlock_free_env(lambda: _RenderEnv(num=num, env_name="coinrun", num_threads=0, rand_seed=0, **kwargs))


def render_states(env, states: Sequence[CoinRunState]) -> np.ndarray:
    """uint8 (len(states), 64, 64, 3): each state as drawn by ``env`` (``set_state`` renders)."""
    if len(states) > env.num:
        raise InterpbenchError(f"{len(states)} states for an env of {env.num}")
    for i, state in enumerate(states):
        env.call_c_func("set_state", i, state.data, len(state.data))
    return env.observe()[1]["rgb"][: len(states)]


def _vel_info_region(env) -> np.ndarray:
    """bool (64, 64): the pixels the velocity boxes cover, measured on the renderer itself.

    A state at rest has grey (127) boxes and the recoloured scene has no such grey, so the
    pixels that change when velocity painting is switched on are exactly the boxes.
    """
    probe = parse(env.callmethod("get_state")[0]).without_rng()
    off, on = (render_states(env, [probe.with_options(paint_vel_info=flag)])[0] for flag in (False, True))
    region = (off != on).any(-1)
    if not region.any():
        raise RuntimeError("velocity boxes not found in the recoloured render")
    return region


class MaskRenderer:
    """Turns CoinRun states into one-hot class masks, ``batch`` states per native call round.

    ``classes`` picks and orders the channels; it must include ``background``, which takes every
    pixel no other chosen class covers. Masks follow the state's own options (easy/hard, velocity
    painting), since ``set_state`` restores them.
    """

    def __init__(self, classes: tuple[str, ...] = MASK_CLASSES, batch: int = 64) -> None:
        classes = tuple(classes)
        unknown = [c for c in classes if c not in MASK_CLASSES]
        if unknown or len(set(classes)) != len(classes) or "background" not in classes:
            raise InterpbenchError(
                f"mask classes must be distinct names from {list(MASK_CLASSES)} including 'background'; "
                f"got {list(classes)}" + (f" (unknown: {unknown})" if unknown else "")
            )
        if batch < 1:
            raise InterpbenchError(f"batch must be >= 1, got {batch}")
        self.classes = classes
        self.batch = batch
        self._env = open_render_env(batch, recoloured_root())
        self._vel_region = _vel_info_region(self._env)
        # decoding tables, palette order plus a last "no class" entry: red -> entry -> green,
        # blue (to verify the colour) and output channel
        names = [*PALETTE, "background"]
        self._entry = np.full(256, len(PALETTE), np.uint8)
        self._entry[[rgb[0] for rgb in PALETTE.values()]] = np.arange(len(PALETTE))
        self._green, self._blue = (np.array([rgb[k] for rgb in PALETTE.values()] + [0], np.uint8) for k in (1, 2))
        fallback = classes.index("background")
        self._channel = np.array([classes.index(n) if n in classes else fallback for n in names], np.uint8)
        self._vel_channel = classes.index("vel_info") if "vel_info" in classes else fallback

    def masks(self, states: Sequence[bytes]) -> np.ndarray:
        """bool (N, C, 64, 64), exactly one True per pixel. Raises ``CorruptFileError`` for a bad
        state and ``InterpbenchError`` for one drawn with monochrome assets (no sprites)."""
        parsed = [parse(s) for s in states]
        for i, state in enumerate(parsed):
            if state.option("use_monochrome_assets"):
                raise InterpbenchError(f"state {i} uses monochrome assets; masks need sprite rendering")
        out = np.empty((len(parsed), len(self.classes), 64, 64), bool)
        for start in range(0, len(parsed), self.batch):
            chunk = parsed[start : start + self.batch]
            self._decode(
                render_states(self._env, [s.without_rng() for s in chunk]),
                np.array([s.paints_vel_info for s in chunk], bool),
                out[start : start + len(chunk)],
            )
        return out

    def _decode(self, rgb: np.ndarray, painted: np.ndarray, out: np.ndarray) -> None:
        """Write the one-hot masks of recoloured renders ``rgb`` into ``out``."""
        red, green, blue = np.moveaxis(rgb, -1, 0).copy()  # contiguous planes: faster lookups
        entry = self._entry[red]
        boxes = painted[:, None, None] & self._vel_region
        wrong = (entry == len(PALETTE)) | (self._green[entry] != green) | (self._blue[entry] != blue)
        if (wrong & ~boxes).any():
            raise RuntimeError(
                f"{int((wrong & ~boxes).sum())} pixels of the recoloured render have no class colour; "
                "the procgen renderer or its assets differ from what interpbench.game.masks expects"
            )
        channel = self._channel[entry]
        channel[boxes] = self._vel_channel
        for c in range(len(self.classes)):  # one contiguous compare per class beats a broadcast
            np.equal(channel, c, out=out[:, c])


@functools.cache
def _renderer(classes: tuple[str, ...]) -> MaskRenderer:
    return MaskRenderer(classes)


def masks_for_states(states: Sequence[bytes], classes: tuple[str, ...] = MASK_CLASSES) -> np.ndarray:
    """``MaskRenderer(classes).masks(states)`` with one renderer kept per class tuple."""
    return _renderer(tuple(classes)).masks(states)
