"""Draw one SynthFACS face with OpenCV (anti-aliased, shaded) from its parameters.

The renderer follows the landmarks: outline from the (marched) jaw points, brows from
17-26, lids from 36-47, mouth from 48-67 (an open mouth shows a dark interior and teeth),
nose from 27-35. AU intensities only add what landmarks cannot carry: wrinkles (AU1/2
forehead, AU4 glabella, AU9 nose bridge, AU6 crow's feet), deeper nasolabial folds
(AU6/9/10/12), raised cheeks (AU6/12) and marionette lines (AU15).

Shading: a head-ellipsoid Lambert term (random light direction and strength) times a
blurred "soft" map (eye sockets, nose side, under-nose and under-lip shadows, cheeks)
times a "fine" map (creases and wrinkles).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from maskfer_lib.synth.aus import AU_INDEX, apply_aus
from maskfer_lib.synth.pose import march, project, rotation
from maskfer_lib.synth.shape import JAW, JAW_PHI, JAW_ZC, Identity

AA = cv2.LINE_AA
SHIFT = 4
_ONE = 1 << SHIFT


@dataclass
class Scene:
    """Everything about one photo that is not the person or the expression."""

    light: np.ndarray  # (3,) unit vector towards the light (x right, y up, z to camera)
    ambient: float
    diffuse: float
    bg: np.ndarray  # (2, 2, 3) corner colours of the background gradient
    blur: float  # Gaussian sigma in output pixels (0 = sharp)
    noise: float  # Gaussian noise sigma in grey levels
    jpeg: int  # JPEG quality, 0 = no compression
    scale: float  # pixels per model unit / image size
    shift: np.ndarray  # (2,) centre offset as a fraction of the image size
    gain: float  # overall exposure
    tint: np.ndarray  # (3,) white balance
    seed: int  # for the little random texture choices in drawing


@dataclass
class FaceParams:
    """All parameters of one face; :func:`render_face` is a pure function of them."""

    identity: Identity
    expression: str
    aus: np.ndarray
    yaw: float
    pitch: float
    roll: float
    scene: Scene
    extra: dict = field(default_factory=dict)


def sample_scene(rng: np.random.Generator) -> Scene:
    """Draw lighting, background, framing and camera degradations."""
    az = rng.uniform(-np.pi, np.pi)
    el = rng.uniform(0.15, 0.95)
    light = np.array([np.sin(az) * el, abs(np.cos(az)) * el * 0.7 + 0.15, 1.0])
    light /= np.linalg.norm(light)
    grey = rng.uniform(40, 220)
    base = grey + (rng.uniform(30, 230, 3) - grey) * rng.uniform(0.0, 0.6)
    bg = np.clip(base + rng.normal(0, 22, (2, 2, 3)), 0, 255)
    if rng.random() < 0.35:  # plain studio backdrops (KDEF-like) are common
        bg = np.clip(base + rng.normal(0, 5, (2, 2, 3)), 0, 255)
    return Scene(
        light=light,
        ambient=float(rng.uniform(0.45, 0.7)),
        diffuse=float(rng.uniform(0.3, 0.6)),
        bg=bg.astype(np.float32),
        blur=float(rng.choice([0.0, 0.0, rng.uniform(0.3, 1.0)])),
        noise=float(rng.uniform(0, 6)),
        jpeg=int(rng.choice([0, int(rng.integers(35, 95))])),
        scale=float(rng.uniform(0.25, 0.29)),
        shift=rng.normal(0, 0.015, 2),
        gain=float(rng.uniform(0.85, 1.12)),
        tint=rng.uniform(0.93, 1.07, 3).astype(np.float32),
        seed=int(rng.integers(2**31)),
    )


# --------------------------------------------------------------------------- drawing helpers
_BASIS: dict[int, np.ndarray] = {}


def _basis(n: int) -> np.ndarray:
    if n not in _BASIS:
        t = np.arange(n) / n
        _BASIS[n] = 0.5 * np.stack(
            [
                -(t**3) + 2 * t**2 - t,
                3 * t**3 - 5 * t**2 + 2,
                -3 * t**3 + 4 * t**2 + t,
                t**3 - t**2,
            ],
            1,
        )
    return _BASIS[n]


def spline(pts: np.ndarray, n: int = 4, closed: bool = False) -> np.ndarray:
    """Catmull-Rom curve through ``pts`` (m, 2) with ``n`` samples per segment."""
    pts = np.asarray(pts, np.float64)
    m = len(pts)
    if closed:
        idx = (np.arange(m)[:, None] + np.arange(-1, 3)[None]) % m
        ctrl = pts[idx]
    else:
        ext = np.vstack([2 * pts[0] - pts[1], pts, 2 * pts[-1] - pts[-2]])
        idx = np.arange(m - 1)[:, None] + np.arange(4)[None]
        ctrl = ext[idx]
    out = (_basis(n) @ ctrl).reshape(-1, 2)
    return out if closed else np.vstack([out, pts[-1:]])


def _ip(pts: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(pts) * _ONE).astype(np.int32).reshape(-1, 1, 2)


def _fill(img, pts, colour) -> None:
    cv2.fillPoly(img, [_ip(pts)], _col(colour), AA, SHIFT)


def _line(img, pts, colour, thick=1, closed=False) -> None:
    cv2.polylines(img, [_ip(pts)], closed, _col(colour), max(1, int(round(thick))), AA, SHIFT)


def _ellipse(img, c, axes, angle, colour, thick=-1) -> None:
    cv2.ellipse(
        img,
        (int(round(c[0] * _ONE)), int(round(c[1] * _ONE))),
        (max(1, int(round(axes[0] * _ONE))), max(1, int(round(axes[1] * _ONE)))),
        float(angle), 0, 360, _col(colour), thick, AA, SHIFT,
    )  # fmt: skip


def _col(c):
    if np.isscalar(c):
        return float(c)
    return tuple(float(v) for v in c)


def _mask(shape, pts_list, ellipses=()) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    for pts in pts_list:
        _fill(m, pts, 255)
    for c, ax, ang in ellipses:
        _ellipse(m, c, ax, ang, 255)
    return m


def _composite(canvas: np.ndarray, mask: np.ndarray, layer: np.ndarray) -> None:
    """canvas <- blend(canvas, layer, alpha = mask / 255) inside the mask's bounding box."""
    x0, y0, w, h = cv2.boundingRect(mask)
    if w == 0 or h == 0:
        return
    y1, x1 = y0 + h, x0 + w
    a = mask[y0:y1, x0:x1].astype(np.float32) * (1 / 255)
    canvas[y0:y1, x0:x1] = cv2.blendLinear(canvas[y0:y1, x0:x1], layer[y0:y1, x0:x1], 1.0 - a, a)


def _shaded(lmap: np.ndarray, colour) -> np.ndarray:
    """uint8 (R, R, 3) image of ``colour`` lit by the light map."""
    m = np.asarray(colour, np.float32).reshape(3, 1)
    return cv2.convertScaleAbs(cv2.transform(lmap[..., None], m))


_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_HAIR_TEX: dict[int, np.ndarray] = {}


def _grid(r: int):
    """Cached pixel-coordinate grids (X, Y) of an r x r image."""
    if r not in _GRIDS:
        _GRIDS[r] = np.meshgrid(np.arange(r, dtype=np.float32), np.arange(r, dtype=np.float32))
    return _GRIDS[r]


def _hair_texture(r: int) -> np.ndarray:
    """A fixed streaky texture (values around 1) for hair, one per render size."""
    if r not in _HAIR_TEX:
        g = np.random.default_rng(12345)
        noise = g.normal(0, 1, (r, r)).astype(np.float32)
        k = max(3, r // 12) | 1
        streak = cv2.GaussianBlur(noise, (1, k), 0) * 1.8
        _HAIR_TEX[r] = 1.0 + 0.22 * np.clip(cv2.GaussianBlur(streak, (3, 1), 0), -1.5, 1.5)
    return _HAIR_TEX[r]


def _ellipsoid_outline(centre3, axes3, rot, scale, centre_px):
    """Projected silhouette of an axis-aligned ellipsoid: (centre, (ax, ay), angle) in px."""
    a = np.diag(np.asarray(axes3, np.float64) ** 2)
    m = (rot @ a @ rot.T)[:2, :2] * scale**2
    m[0, 1] = m[1, 0] = -m[0, 1]  # image y points down
    vals, vecs = np.linalg.eigh(m)
    c = project(np.asarray(centre3, np.float64)[None], rot, scale, centre_px)[0]
    ang = np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1]))
    return c, (np.sqrt(vals[1]), np.sqrt(vals[0])), ang


# --------------------------------------------------------------------------- geometry
def face_geometry(params: FaceParams) -> tuple[np.ndarray, np.ndarray]:
    """3-D landmarks (68, 3) after AUs and silhouette marching, and the marched jaw angles."""
    ident = params.identity
    pts = apply_aus(ident.shape, params.aus)
    phi = march(JAW_PHI, ident.jaw_w, ident.jaw_d, params.yaw)
    moved = np.abs(phi - JAW_PHI) > 1e-9
    if moved.any():
        j = JAW[moved]
        pts[j, 0] = ident.jaw_w[moved] * np.sin(phi[moved])
        pts[j, 2] = JAW_ZC + ident.jaw_d[moved] * np.cos(phi[moved])
    return pts, phi


def _aux_points(
    p: np.ndarray, ident: Identity, aus: np.ndarray, yaw: float
) -> dict[str, np.ndarray]:
    """Extra 3-D anchor points the renderer needs, derived from the landmarks."""
    au = {k: float(aus[i]) for k, i in AU_INDEX.items()}
    neutral = ident.shape
    out: dict[str, np.ndarray] = {}
    for side, eye, corner, ala, lid_lo in (
        ("L", np.arange(36, 42), 48, 31, (41, 40)),
        ("R", np.arange(42, 48), 54, 35, (46, 47)),
    ):
        s = -1.0 if side == "L" else 1.0
        ec = neutral[eye].mean(0)
        out["iris" + side] = ec + (0, 0.0, 0.03)
        out["socket" + side] = ec + (0, 0.06, -0.02)
        cheek = 0.5 * (p[lid_lo[0]] + p[corner]) + (s * 0.14, 0.0, 0.0)
        cheek[1] += 0.06 * au["AU6"] + 0.04 * au["AU12"]
        out["cheek" + side] = cheek
        st = p[ala] + (s * 0.07, 0.08, -0.05)
        en = p[corner] + (s * 0.06, -0.05, -0.05)
        mid = 0.5 * (st + en) + (s * (0.04 + 0.03 * au["AU12"]), 0.02, 0)
        out["naso" + side] = np.stack([st, mid, en])
        o = p[eye[0] if side == "L" else eye[3]]
        out["crow" + side] = np.stack(
            [o + (s * 0.04, dy * 0.5, -0.02) for dy in (0.05, 0.0, -0.05)]
            + [o + (s * 0.13, dy * 1.6, -0.1) for dy in (0.05, 0.0, -0.05)]
        )
        lo = (
            p[[eye[0], eye[5], eye[4], eye[3]]]
            if side == "L"
            else p[[eye[0], eye[5], eye[4], eye[3]]]
        )
        out["bag" + side] = lo + (0, -0.05 - 0.015 * au["AU6"], 0.0)
        up = neutral[[eye[0], eye[1], eye[2], eye[3]]]
        out["crease" + side] = up + (0, 0.045, 0.01)
        out["crease" + side][1:3, 1] += 0.01
        out["alar" + side] = np.stack(
            [
                p[ala] + (0.0, 0.0, 0.0),
                p[ala] + (s * 0.04, 0.06, -0.03),
                p[ala] + (-s * 0.01, 0.12, 0.03),
            ]
        )
        nost = 0.5 * (p[ala] + p[32 if side == "L" else 34]) + (0, 0.015, 0.0)
        out["nostril" + side] = nost
        out["mario" + side] = np.stack(
            [p[corner] + (s * 0.01, -0.03, 0), p[corner] + (s * 0.05, -0.2, -0.03)]
        )
        out["ear" + side] = np.array([s * (ident.jaw_w[0] * 0.98), -0.2, -0.32])
    b = 0.5 * (p[21] + p[22])
    out["glabella"] = np.stack(
        [b + (dx, dy, 0.0) for dx in (-0.035, 0.035) for dy in (-0.01, 0.14)]
    )
    fy = p[17:27, 1].mean()
    xs = np.linspace(-0.42, 0.42, 7)
    out["forehead"] = np.stack(
        [
            np.stack([xs, np.full_like(xs, fy + h), 0.95 - 0.35 * xs**2], 1)
            for h in (0.17, 0.26, 0.35)
        ]
    )
    nb = 0.5 * (p[27] + p[28])
    out["noseline"] = np.stack(
        [nb + (dx, dy, 0.0) for dy in (0.02, -0.02, -0.06) for dx in (-0.08, 0.0, 0.08)]
    )
    out["lip_shadow"] = p[57] + (0, -0.09, -0.05)
    out["under_nose"] = p[33] + (0, -0.03, -0.04)
    out["tip"] = p[30] + (0, 0.02, 0.0)
    out["chin"] = 0.5 * (p[8] + p[57]) + (0, -0.02, 0.0)
    out["head"] = np.array([0.0, -0.25, 0.0])
    return out


# --------------------------------------------------------------------------- renderer
def render_face(params: FaceParams, size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Render a face; return (image (size, size, 3) uint8 RGB, landmarks (68, 2) float32 px).

    Internally draws at ``max(size, 112)`` pixels (small outputs are area-downsampled so the
    features stay anti-aliased) and maps landmarks to the output grid.
    """
    r = max(int(size), 112)
    ident, sc = params.identity, params.scene
    rng = np.random.default_rng(sc.seed)
    rot = rotation(params.yaw, params.pitch, params.roll)
    scale = sc.scale * r
    centre = np.array([0.5 + sc.shift[0], 0.48 + sc.shift[1]]) * r
    p3, _ = face_geometry(params)
    aux = _aux_points(p3, ident, params.aus, params.yaw)
    names = list(aux)
    flat = [np.atleast_2d(aux[k]).reshape(-1, 3) for k in names]
    allp = project(np.vstack([p3] + flat), rot, scale, centre)
    lm = allp[:68]
    A, o = {}, 68
    for k, f in zip(names, flat, strict=True):
        A[k] = allp[o : o + len(f)]
        o += len(f)
    au = {k: float(params.aus[i]) for k, i in AU_INDEX.items()}
    u = scale  # pixels per model unit
    yaw_r = np.radians(params.yaw)
    fx = max(0.25, np.cos(yaw_r))

    # Background: a smooth gradient from 3x3 colours.
    canvas = cv2.resize(sc.bg, (r, r), interpolation=cv2.INTER_LINEAR)
    canvas = np.clip(canvas, 0, 255).astype(np.uint8)

    # Lambert shading on a head-sized ellipsoid, in camera space.
    # Computed on a quarter-resolution grid and upsampled: the Lambert term is smooth.
    q = 4
    X, Y = _grid(r // q)
    hc = A["head"][0] / q
    nx = (X - hc[0]) / (1.12 * u / q)
    ny = (hc[1] - Y) / (1.75 * u / q)
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0)) * 1.6 + 0.25
    inv = 1.0 / np.sqrt(nx * nx + ny * ny + nz * nz)
    L = sc.light
    lam = np.maximum((nx * L[0] + ny * L[1] + nz * L[2]) * inv, 0.0)
    shade = sc.ambient + sc.diffuse * lam
    shade *= 1.0 / (sc.ambient + sc.diffuse * 0.9)
    shade = cv2.resize(shade.astype(np.float32), (r, r), interpolation=cv2.INTER_LINEAR)

    soft = np.full((r, r), 128, np.uint8)
    # Neck in the shade of the chin: dark in the soft map, the face drawn back over it.
    body = rotation(params.yaw * 0.3, 0, params.roll * 0.3)
    nw = ident.neck_w
    neck3 = np.array(
        [[-nw, -0.7, -0.2], [nw, -0.7, -0.2], [nw * 1.08, -2.3, -0.2], [-nw * 1.08, -2.3, -0.2]]
    )
    npx = project(neck3, body, scale, centre)
    npx[:2] = project(neck3[:2], rot, scale, centre)
    jaw = spline(lm[JAW], 4)
    face_poly = np.vstack([jaw, lm[[16]] + (0, -0.35 * u), lm[[0]] + (0, -0.35 * u)])
    _fill(soft, npx, 90)
    _fill(soft, face_poly, 128)
    fine = np.full((r, r), 128, np.uint8)
    lx = float(L[0])
    for s in ("L", "R"):
        _ellipse(soft, A["socket" + s][0], (0.2 * u * fx, 0.13 * u), params.roll * -1, 104)
        cheek_gain = 4 + 10 * au["AU6"] + 6 * au["AU12"]
        _ellipse(soft, A["cheek" + s][0], (0.2 * u * fx, 0.15 * u), 0, 128 + cheek_gain)
        depth = 0.15 + 0.45 * au["AU12"] + 0.25 * au["AU6"] + 0.35 * au["AU9"] + 0.3 * au["AU10"]
        curve = spline(A["naso" + s], 4)
        _line(soft, curve, 128 - 30 * min(depth, 1.0), max(1, 0.06 * u))
        _line(fine, curve, 128 - 55 * min(depth, 1.0), 1)
        _line(fine, spline(A["crease" + s], 3), 100, 1)
        if au["AU6"] + au["AU7"] > 0.2:
            _line(
                fine, spline(A["bag" + s], 3), 128 - 40 * min(1.0, au["AU6"] + 0.6 * au["AU7"]), 1
            )
        if au["AU6"] > 0.15:
            c = A["crow" + s]
            for k in range(3):
                _line(fine, c[[k, k + 3]], 128 - 50 * au["AU6"], 1)
        if au["AU15"] > 0.2:
            _line(fine, A["mario" + s], 128 - 50 * au["AU15"], 1)
        _line(fine, spline(A["alar" + s], 3), 92, 1)
    # Nose: side away from the light is darker; tip highlight; shadow under nose and lip.
    bridge = lm[[27, 28, 29, 30]]
    far = 35 if lx > 0 else 31
    _fill(soft, np.vstack([bridge, lm[[33, far]], A["alar" + ("R" if lx > 0 else "L")][2:]]),
          128 - 35 * abs(lx) - 8)  # fmt: skip
    _ellipse(soft, A["tip"][0], (0.08 * u * fx, 0.07 * u), 0, 150)
    _ellipse(soft, A["under_nose"][0], (0.16 * u * fx, 0.05 * u), 0, 100)
    _ellipse(soft, A["lip_shadow"][0], (0.18 * u * fx, 0.06 * u), 0, 105)
    _ellipse(soft, A["chin"][0], (0.2 * u * fx, 0.12 * u), 0, 140)
    soft = cv2.GaussianBlur(soft, (0, 0), r / 55)
    # Wrinkles that AUs create.
    if au["AU4"] > 0.15:
        g = A["glabella"]
        for k in (0, 2):
            _line(fine, g[[k, k + 1]], 128 - 60 * au["AU4"], 1)
    if au["AU9"] > 0.15:
        nl = A["noseline"]
        for k in range(3):
            _line(fine, spline(nl[3 * k : 3 * k + 3], 3), 128 - 65 * au["AU9"], 1)
    fh = A["forehead"]
    for k in range(3):
        row = fh[7 * k : 7 * k + 7]
        a_in, a_out = au["AU1"], au["AU2"]
        if a_in + a_out > 0.3:
            lo, hi = (1, 6) if a_out < 0.3 else (0, 7)
            if a_in < 0.3:
                _line(fine, spline(row[0:3], 3), 128 - 40 * a_out, 1)
                _line(fine, spline(row[4:7], 3), 128 - 40 * a_out, 1)
            else:
                _line(fine, spline(row[lo:hi], 3), 128 - 45 * max(a_in, a_out), 1)
    fine = cv2.GaussianBlur(fine, (3, 3), 0.6)
    light = shade * (soft.astype(np.float32) * (1 / 128)) * (fine.astype(np.float32) * (1 / 128))
    skin = ident.skin
    skin_img = _shaded(light, skin)
    hair_img = None if ident.hair_style == "bald" else _shaded(shade * _hair_texture(r), ident.hair)

    # Long hair behind the head, then neck and clothes.
    cr = ident.cranium
    vol = ident.hair_volume
    style = ident.hair_style
    if style in ("long", "bob"):
        drop = -2.2 if style == "long" else -1.15
        back = np.array(
            [
                [-cr[0] * vol, cr[3], cr[4]],
                [-1.2, drop, -0.3],
                [1.2, drop, -0.3],
                [cr[0] * vol, cr[3], cr[4]],
            ]
        )
        bp = project(back, rot, scale, centre)
        _composite(canvas, _mask((r, r), [spline(bp, 3)]), hair_img)
    _composite(canvas, _mask((r, r), [npx]), skin_img)
    shirt = np.array(
        [[-2.6, -3.8, -0.3], [-2.4, -2.45, -0.3], [-0.9, -1.95, -0.2], [-0.35, -2.35, 0.1],
         [0.0, -2.55, 0.2], [0.35, -2.35, 0.1], [0.9, -1.95, -0.2], [2.4, -2.45, -0.3], [2.6, -3.8, -0.3]]
    )  # fmt: skip
    spx = project(shirt, body, scale, centre)
    _fill(
        canvas,
        spx,
        np.clip(
            ident.clothes * (0.65 + 0.35 * shade[int(min(r - 1, max(0, hc[1])))].mean()), 0, 255
        ),
    )

    # Skull: skin, then hair above the hairline.
    cc = (0.0, cr[3], cr[4])
    c, ax, ang = _ellipsoid_outline(cc, cr[:3], rot, scale, centre)
    skull = _mask((r, r), [], [(c, ax, ang)])
    _composite(canvas, skull, skin_img)
    if style != "bald":
        hl = ident.hairline
        # Hairline on the skull: angle (deg) and height; the back of the head is all hair.
        angs = np.radians([-175, -120, -100, -80, -55, -25, 0, 25, 55, 80, 100, 120, 175])
        hy = np.array(
            [
                -0.6,
                -0.35,
                0.05,
                0.45,
                hl - 0.12,
                hl - 0.02,
                hl,
                hl - 0.02,
                hl - 0.12,
                0.45,
                0.05,
                -0.35,
                -0.6,
            ]
        )
        if style == "fringe":
            hy[4:9] = np.array([0.45, 0.4, 0.38, 0.4, 0.45]) + ident.shape[19, 1] - 0.33
        s = np.sqrt(np.clip(1 - ((hy - cr[3]) / cr[1]) ** 2, 0.05, 1))
        w, d = cr[0] * s, cr[2] * s
        ph = march(angs, w, d, params.yaw)
        hl3 = np.stack([w * np.sin(ph), hy, cr[4] + d * np.cos(ph)], 1)
        hpx = project(hl3, rot, scale, centre)
        curve = spline(hpx, 4)
        big = 3.0 * r
        region = np.vstack(
            [
                curve,
                curve[-1] + (big, 0),
                curve[-1] + (big, -big),
                curve[0] + (-big, -big),
                curve[0] + (-big, 0),
            ]
        )
        c2, ax2, _ = _ellipsoid_outline(cc, cr[:3] * vol, rot, scale, centre)
        hm = _mask((r, r), [region])
        cap = _mask((r, r), [], [(c2, ax2, ang)])
        _composite(canvas, cv2.min(hm, cap), hair_img)
    # Ears (skip one turned well away), then the face.
    for s in ("L", "R"):
        sgn = -1 if s == "L" else 1
        n_ear = np.array([sgn * 0.9, 0.0, 0.45])
        if (n_ear @ rot[2]) < -0.25 or (style == "long" and abs(params.yaw) < 20):
            continue
        e = aux["ear" + s]
        t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
        v = np.array([sgn * 0.6, 0, -0.8])
        ring = (
            e
            + np.outer(np.cos(t) * 0.27 * ident.ear, [0, 1, 0])
            + np.outer(np.sin(t) * 0.13 * ident.ear, v)
        )
        epx = project(ring, rot, scale, centre)
        _composite(canvas, _mask((r, r), [spline(epx, 3, closed=True)]), skin_img)
        inner = project(
            e + np.outer(np.cos(t[2:9]) * 0.17, [0, 1, 0]) + np.outer(np.sin(t[2:9]) * 0.07, v),
            rot,
            scale,
            centre,
        )
        _line(
            canvas,
            spline(inner, 3),
            ident.skin
            * 0.55
            * light[int(np.clip(epx[0, 1], 0, r - 1)), int(np.clip(epx[0, 0], 0, r - 1))],
            max(1, r / 128),
        )
    _composite(canvas, _mask((r, r), [face_poly]), skin_img)

    def local(pt):
        x, y = int(np.clip(pt[0], 0, r - 1)), int(np.clip(pt[1], 0, r - 1))
        return float(light[y, x])

    # Far-side features first, then the nose over them, then near-side features.
    far_side = "R" if params.yaw > 12 else ("L" if params.yaw < -12 else None)
    order = (
        ["L", "R"] if far_side is None else ([far_side] + [s for s in ("L", "R") if s != far_side])
    )
    for k, s in enumerate(order):
        _draw_brow(canvas, lm, s, ident, u, local)
        _draw_eye(canvas, lm, A, s, ident, u, fx, local, r)
        if k == 0 and far_side is not None:
            nose_pts = np.vstack([lm[27:36], A["alarL"], A["alarR"]])
            hull = cv2.convexHull(nose_pts.astype(np.float32)).reshape(-1, 2)
            _composite(canvas, _mask((r, r), [hull]), skin_img)
            rim = np.vstack([lm[27:31], lm[[33, 34 if far_side == "R" else 32]]])
            _line(canvas, spline(rim, 3), ident.skin * 0.7 * local(lm[29]), max(1, r / 160))
    _draw_nostrils(canvas, lm, A, ident, u, fx, local)
    _draw_mouth(canvas, lm, ident, u, au, local, r)

    img = canvas.astype(np.float32) * (sc.gain * sc.tint)
    if sc.blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), sc.blur * r / size)
    if r != size:
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        lm = (lm + 0.5) * (size / r) - 0.5
    if sc.noise > 0:
        img += rng.normal(0, sc.noise, img.shape).astype(np.float32)
    img = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    if sc.jpeg:
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, sc.jpeg])
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return img, lm.astype(np.float32)


def _draw_brow(canvas, lm, side, ident, u, local) -> None:
    idx = np.arange(17, 22) if side == "L" else np.arange(22, 27)
    top = spline(lm[idx], 3)
    # Thickness tapers towards the tail (outer end).
    t = np.linspace(0, 1, len(top))
    if side == "L":
        thick = (0.035 + 0.045 * t) * ident.brow_thick * u
    else:
        thick = (0.08 - 0.045 * t) * ident.brow_thick * u
    d = np.gradient(top, axis=0)
    nrm = np.stack([-d[:, 1], d[:, 0]], 1)
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True) + 1e-9
    nrm *= np.where(nrm[:, 1:2] < 0, -1, 1)  # point down the image
    bottom = top + nrm * thick[:, None]
    colour = ident.brow * 0.85 + ident.skin * 0.15
    colour = colour * (0.55 + 0.45 * local(lm[idx[2]]))
    _fill(canvas, np.vstack([top, bottom[::-1]]), colour)


def _draw_eye(canvas, lm, A, side, ident, u, fx, local, r) -> None:
    idx = np.arange(36, 42) if side == "L" else np.arange(42, 48)
    pts = lm[idx]
    contour = spline(pts, 4, closed=True)
    lo = np.floor(contour.min(0)).astype(int) - 2
    hi = np.ceil(contour.max(0)).astype(int) + 3
    lo = np.clip(lo, 0, r - 1)
    hi = np.clip(hi, 1, r)
    if (hi - lo).min() < 2:
        return
    roi = canvas[lo[1] : hi[1], lo[0] : hi[0]]
    off = lo.astype(np.float64)
    lit = local(pts.mean(0))
    eye = roi.copy()
    _fill(eye, contour - off, np.array([236, 230, 224]) * (0.45 + 0.45 * lit))
    ic = A["iris" + side][0] - off
    ir = ident.iris_r * u
    _ellipse(eye, ic, (ir * fx, ir), 0, ident.iris * 0.45 * (0.5 + 0.5 * lit))
    _ellipse(eye, ic, (ir * 0.8 * fx, ir * 0.8), 0, ident.iris * (0.45 + 0.55 * lit))
    _ellipse(eye, ic, (ir * 0.42 * fx, ir * 0.42), 0, (18, 14, 14))
    _ellipse(
        eye,
        ic + (-0.3 * ir, -0.35 * ir),
        (max(0.6, ir * 0.2), max(0.6, ir * 0.2)),
        0,
        (250, 250, 250),
    )
    upper_idx = [0, 1, 2, 3]
    upper = spline(pts[upper_idx], 4)
    _line(eye, upper - off + (0, 0.2 * ir), (60, 45, 42), max(1, 0.25 * ir))
    m = _mask(eye.shape[:2], [contour - off])
    a = m[..., None].astype(np.float32) * (1 / 255)
    roi[:] = (roi + (eye.astype(np.float32) - roi) * a + 0.5).astype(np.uint8)
    lash = (28, 20, 18)
    _line(canvas, upper, lash, max(1, 0.028 * u))
    lower = spline(pts[[3, 4, 5, 0]], 4)
    _line(canvas, lower, ident.skin * 0.55 * lit, 1)


def _draw_nostrils(canvas, lm, A, ident, u, fx, local) -> None:
    for s in ("L", "R"):
        c = A["nostril" + s][0]
        _ellipse(canvas, c, (0.045 * u * fx, 0.022 * u), 0, ident.skin * 0.35 * local(c))


def _draw_mouth(canvas, lm, ident, u, au, local, r) -> None:
    outer_up = spline(lm[48:55], 4)
    outer_lo = spline(lm[[54, 55, 56, 57, 58, 59, 48]], 4)
    inner_up = spline(lm[60:65], 4)
    inner_lo = spline(lm[[64, 65, 66, 67, 60]], 4)
    lit = local(lm[[51, 57]].mean(0))
    lip = ident.lip * (0.45 + 0.6 * lit)
    _fill(canvas, np.vstack([outer_up, inner_up[::-1]]), lip * 0.82)
    _fill(canvas, np.vstack([outer_lo, inner_lo[::-1]]), lip)
    # Lower-lip highlight.
    hl = lm[[58, 57, 56]] * 0.6 + lm[[67, 66, 65]] * 0.4
    _line(canvas, spline(hl, 3), np.minimum(lip * 1.18, 255), max(1, 0.025 * u))
    interior = np.vstack([inner_up, inner_lo[1:-1]])
    gap = lm[[61, 62, 63], 1] - lm[[67, 66, 65], 1]
    if -gap.mean() > 0.035 * u:
        lo = np.clip(np.floor(interior.min(0)).astype(int) - 2, 0, r - 1)
        hi = np.clip(np.ceil(interior.max(0)).astype(int) + 3, 1, r)
        roi = canvas[lo[1] : hi[1], lo[0] : hi[0]]
        off = lo.astype(np.float64)
        m = roi.copy()
        _fill(m, interior - off, (52, 18, 22))
        th = 0.05 * u
        teeth = np.vstack([inner_up, (inner_up + (0, th))[::-1]]) - off
        _fill(m, teeth, np.array([232, 226, 210]) * (0.55 + 0.4 * lit))
        if au["AU26"] + au["AU16"] + au["AU25"] > 0.5:
            lt = np.vstack([inner_lo, (inner_lo + (0, -0.045 * u))[::-1]]) - off
            _fill(m, lt, np.array([214, 206, 190]) * (0.5 + 0.4 * lit))
        mk = _mask(m.shape[:2], [interior - off])
        a = mk[..., None].astype(np.float32) * (1 / 255)
        roi[:] = (roi + (m.astype(np.float32) - roi) * a + 0.5).astype(np.uint8)
    else:
        _line(
            canvas,
            spline(lm[[48, 61, 62, 63, 54]] * 0 + np.vstack([lm[48], lm[61:64], lm[54]]), 3),
            ident.lip * 0.35 * lit,
            1,
        )
