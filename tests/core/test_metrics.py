"""core.metrics against scikit-learn and against AUPRO references written here, on random cases with ties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from sklearn import metrics as skm

from core.metrics import (MetricInputError, UndefinedMetricError, UndefinedMetricWarning, evaluate,
                          f1_optimal_threshold, image_curves, image_metrics, pixel_curves,
                          pixel_metrics, precision_recall_curve, pro_curve, rank_pixels, roc_curve,
                          summarize)

TOL = 1e-6
EIGHT = np.ones((3, 3), dtype=int)


# --- references -----------------------------------------------------------------------------------

def sk_f1_max(labels, scores) -> float:
    p, r, _ = skm.precision_recall_curve(labels, scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = 2 * p * r / (p + r)
    return float(np.nanmax(f1))


def integrate_to(x, y, limit) -> float:
    """Area under a polyline with non-decreasing x, cut at x = limit (segments clipped one by one)."""
    area = 0.0
    for x0, y0, x1, y1 in zip(x[:-1], y[:-1], x[1:], y[1:]):
        if x0 >= limit:
            break
        if x1 <= limit:
            area += 0.5 * (y0 + y1) * (x1 - x0)
        else:
            y_lim = y0 + (y1 - y0) * (limit - x0) / (x1 - x0)
            area += 0.5 * (y0 + y_lim) * (limit - x0)
    return area


def brute_force_aupro(maps, masks, limit=0.3) -> float:
    """PRO and FPR recomputed from scratch at every distinct score (slow, obviously right)."""
    regions = []
    for m in masks:
        lab, n = ndimage.label(m != 0, structure=EIGHT)
        regions.append([lab == k for k in range(1, n + 1)])
    normal = masks == 0
    xs, ys = [0.0], [0.0]
    for t in np.unique(maps)[::-1]:
        pred = maps >= t
        xs.append((pred & normal).sum() / normal.sum())
        ys.append(np.mean([pred[i][r].mean() for i, rs in enumerate(regions) for r in rs]))
    xs.append(1.0), ys.append(1.0)
    return integrate_to(np.array(xs), np.array(ys), limit) / limit


def mvtec_style_aupro(maps, masks, limit=0.3) -> float:
    """The MVTec sort-and-cumsum formulation, with scipy labelling (for larger cases)."""
    fp_change = np.zeros(maps.shape, dtype=np.float64)
    pro_change = np.zeros(maps.shape, dtype=np.float64)
    n_regions = 0
    for i, m in enumerate(masks):
        lab, n = ndimage.label(m != 0, structure=EIGHT)
        n_regions += n
        fp_change[i][lab == 0] = 1
        for k in range(1, n + 1):
            pro_change[i][lab == k] = 1.0 / (lab == k).sum()
    order = np.argsort(maps.ravel(), kind="stable")[::-1]
    s = maps.ravel()[order]
    fpr = np.cumsum(fp_change.ravel()[order]) / fp_change.sum()
    pro = np.cumsum(pro_change.ravel()[order]) / n_regions
    keep = np.append(s[1:] != s[:-1], True)
    fpr = np.concatenate(([0.0], np.minimum(fpr[keep], 1), [1.0]))
    pro = np.concatenate(([0.0], np.minimum(pro[keep], 1), [1.0]))
    return integrate_to(fpr, pro, limit) / limit


# --- random cases -----------------------------------------------------------------------------------

def random_case(seed, n=6, h=24, w=20, decimals=2, dtype=np.float32):
    """Maps with many ties (rounded scores) and masks with many blobs, some touching diagonally."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, h, w), dtype=np.uint8)
    for i in range(n):
        if i % 3 == 0:
            continue                         # some defect-free images
        for _ in range(rng.integers(1, 7)):
            y, x = rng.integers(0, h - 2), rng.integers(0, w - 2)
            masks[i, y:y + rng.integers(1, 5), x:x + rng.integers(1, 5)] = 255
        ys, xs = rng.integers(0, h, 4), rng.integers(0, w, 4)
        masks[i, ys, xs] = 1                 # single-pixel regions
    maps = rng.normal(size=(n, h, w)) + 1.2 * (masks != 0) * rng.random((n, 1, 1))
    maps = np.round(maps, decimals).astype(dtype)
    labels = masks.reshape(n, -1).max(axis=1) > 0
    scores = np.round(maps.reshape(n, -1).max(axis=1) + rng.normal(scale=0.5, size=n), 1)
    return scores, labels.astype(int), maps, masks


@pytest.mark.parametrize("seed", range(6))
def test_pixel_metrics_match_sklearn_and_reference_aupro(seed):
    _, _, maps, masks = random_case(seed)
    got = pixel_metrics(maps, masks)
    y, s = masks.ravel() != 0, maps.ravel().astype(np.float64)
    assert got["P-AUROC"] == pytest.approx(skm.roc_auc_score(y, s), abs=TOL)
    assert got["P-AP"] == pytest.approx(skm.average_precision_score(y, s), abs=TOL)
    assert got["P-F1"] == pytest.approx(sk_f1_max(y, s), abs=TOL)
    assert got["P-AUPRO"] == pytest.approx(brute_force_aupro(maps, masks), abs=TOL)


@pytest.mark.parametrize("seed", range(3))
def test_aupro_matches_mvtec_formulation_on_larger_case_with_many_regions(seed):
    _, _, maps, masks = random_case(100 + seed, n=12, h=64, w=64, decimals=3)
    n_regions = sum(ndimage.label(m, structure=EIGHT)[1] for m in masks)
    assert n_regions > 40
    for limit in (0.3, 0.05, 1.0):
        assert pixel_metrics(maps, masks, fpr_limit=limit)["P-AUPRO"] == pytest.approx(
            mvtec_style_aupro(maps, masks, limit), abs=TOL)


@pytest.mark.parametrize("columns", [[3], [1, 3, 5]])
def test_aupro_known_value_from_anomalib_test_vector(columns):
    # anomalib's AUPRO test vector: vertical line regions, scores rising along the rows.
    labels = np.zeros((1, 400, 7), dtype=np.uint8)
    labels[..., columns] = 1
    preds = (np.arange(2800) / 2800).reshape(1, 400, 7)
    third = pixel_metrics(preds, labels, fpr_limit=1 / 3)["P-AUPRO"]
    assert third == pytest.approx(1 / 6, abs=2e-6)     # 1/6 up to the discreteness of 2800 pixels
    assert third == pytest.approx(mvtec_style_aupro(preds, labels, 1 / 3), abs=1e-12)
    assert pixel_metrics(preds, labels)["P-AUPRO"] == pytest.approx(0.15, abs=1e-9)


def test_regions_are_8_connected():
    masks = np.zeros((1, 6, 6), dtype=bool)
    masks[0, [1, 2, 3], [1, 2, 3]] = True    # a diagonal line: one region, not three
    assert rank_pixels(np.zeros((1, 6, 6), np.float32), masks).n_regions == 1


@pytest.mark.parametrize("seed", range(6))
def test_image_metrics_match_sklearn(seed):
    scores, labels, _, _ = random_case(seed, n=40)
    got = image_metrics(scores, labels)
    assert got["I-AUROC"] == pytest.approx(skm.roc_auc_score(labels, scores), abs=TOL)
    assert got["I-AP"] == pytest.approx(skm.average_precision_score(labels, scores), abs=TOL)
    assert got["I-F1"] == pytest.approx(sk_f1_max(labels, scores), abs=TOL)


def test_evaluate_returns_the_seven_numbers():
    scores, labels, maps, masks = random_case(7)
    out = evaluate(scores, labels, maps, masks)
    assert list(out) == ["I-AUROC", "I-AP", "I-F1", "P-AUROC", "P-AP", "P-F1", "P-AUPRO"]
    assert all(type(v) is float and 0.0 <= v <= 1.0 for v in out.values())
    assert out["P-AUROC"] == pytest.approx(skm.roc_auc_score(masks.ravel() > 0, maps.ravel()), abs=TOL)


def test_float64_maps_keep_full_precision():
    # Scores float32 cannot tell apart: a float32-only implementation would merge them into a tie.
    rng = np.random.default_rng(3)
    masks = rng.random((3, 16, 16)) < 0.2
    maps = 0.5 + rng.integers(0, 3, size=(3, 16, 16)) * 1e-12 + masks * 1e-12
    y, s = masks.ravel(), maps.ravel()
    got = pixel_metrics(maps, masks)
    assert got["P-AUROC"] == pytest.approx(skm.roc_auc_score(y, s), abs=TOL)
    assert got["P-AP"] == pytest.approx(skm.average_precision_score(y, s), abs=TOL)
    assert got["P-AUPRO"] == pytest.approx(mvtec_style_aupro(maps, masks), abs=TOL)


def test_negative_scores_and_signed_zero_are_ranked_as_numbers():
    rng = np.random.default_rng(5)
    masks = rng.random((4, 10, 10)) < 0.3
    maps = rng.choice(np.array([-2.5, -1.0, -0.0, 0.0, 0.5, 3.0], np.float32), size=(4, 10, 10))
    maps = np.where(masks & (rng.random(maps.shape) < 0.5), np.float32(3.0), maps)
    y, s = masks.ravel(), maps.ravel().astype(np.float64)
    got = pixel_metrics(maps, masks)
    assert got["P-AUROC"] == pytest.approx(skm.roc_auc_score(y, s), abs=TOL)
    assert got["P-AP"] == pytest.approx(skm.average_precision_score(y, s), abs=TOL)
    assert got["P-AUPRO"] == pytest.approx(brute_force_aupro(maps, masks), abs=TOL)


def test_result_does_not_depend_on_block_size_even_with_ties_across_blocks():
    _, _, maps, masks = random_case(11, decimals=1)
    ranking = rank_pixels(maps, masks)
    whole = summarize(ranking, max_points=None)
    for chunk in (1, 7, 64):
        part = summarize(ranking, max_points=None, chunk_size=chunk)
        for name in ("auroc", "ap", "f1_max", "f1_threshold", "aupro"):
            assert getattr(part, name) == pytest.approx(getattr(whole, name), abs=1e-12)
        np.testing.assert_array_equal(part.thresholds, whole.thresholds)
        np.testing.assert_allclose(part.pro, whole.pro, atol=1e-12)


# --- curves ------------------------------------------------------------------------------------------

def test_roc_and_pr_curves_match_sklearn_point_by_point():
    scores, labels, _, _ = random_case(2, n=60)
    fpr, tpr, thr = roc_curve(scores, labels)
    sk_fpr, sk_tpr, sk_thr = skm.roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr, atol=1e-12)
    np.testing.assert_allclose(tpr, sk_tpr, atol=1e-12)
    np.testing.assert_array_equal(thr[1:], sk_thr[1:])
    assert np.isinf(thr[0]) and np.all(np.diff(thr) < 0)
    precision, recall, thr_pr = precision_recall_curve(scores, labels)
    sk_p, sk_r, sk_t = skm.precision_recall_curve(labels, scores)
    # sklearn: increasing thresholds with a final (P=1, R=0) point; ours: decreasing from +inf.
    np.testing.assert_allclose(precision, sk_p[::-1], atol=1e-12)
    np.testing.assert_allclose(recall, sk_r[::-1], atol=1e-12)
    np.testing.assert_array_equal(thr_pr[1:], sk_t[::-1])


def test_f1_optimal_threshold_is_an_operating_point_reaching_f1_max():
    for scores, labels in [random_case(4, n=50)[:2], random_case(4)[2:]]:
        thr, f1 = f1_optimal_threshold(scores, labels)
        y = np.asarray(labels).ravel() != 0
        pred = np.asarray(scores).ravel() >= thr
        assert skm.f1_score(y, pred) == pytest.approx(f1, abs=1e-12)
        assert f1 == pytest.approx(sk_f1_max(y, np.asarray(scores).ravel()), abs=TOL)


def test_pro_curve_runs_from_origin_to_one_and_matches_reference_points():
    _, _, maps, masks = random_case(8)
    fpr, pro, thr = pro_curve(maps, masks, max_points=None)
    assert (fpr[0], pro[0]) == (0.0, 0.0) and fpr[-1] == 1.0 and pro[-1] == pytest.approx(1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(pro) >= -1e-12)
    t = thr[len(thr) // 2]
    pred = maps >= t
    lab = [ndimage.label(m, structure=EIGHT) for m in masks]
    overlaps = [pred[i][l == k].mean() for i, (l, n) in enumerate(lab) for k in range(1, n + 1)]
    assert pro[len(thr) // 2] == pytest.approx(np.mean(overlaps), abs=1e-12)
    assert fpr[len(thr) // 2] == pytest.approx((pred & (masks == 0)).sum() / (masks == 0).sum())


def test_thinned_pixel_curves_keep_ends_f1_point_and_exact_numbers():
    _, _, maps, masks = random_case(9, n=10, h=48, w=48, decimals=4)
    full = pixel_curves(maps, masks, max_points=None)
    thin = pixel_curves(maps, masks, max_points=100)
    assert len(full.thresholds) > 2000
    assert 50 <= len(thin.thresholds) <= 104
    for name in ("auroc", "ap", "f1_max", "f1_threshold", "aupro"):
        assert getattr(thin, name) == getattr(full, name)
    assert thin.thresholds[-1] == full.thresholds[-1] and np.isinf(thin.thresholds[0])
    assert thin.f1_threshold in thin.thresholds
    i = np.flatnonzero(np.isin(full.thresholds, thin.thresholds))
    np.testing.assert_array_equal(thin.fpr, full.fpr[i])
    np.testing.assert_array_equal(thin.pro, full.pro[i])
    # Evenly spread along the ROC path: no step longer than a few bins.
    assert np.max(np.diff(thin.fpr) + np.diff(thin.tpr)) < 0.1


def test_image_curves_have_no_pro():
    scores, labels, _, _ = random_case(1, n=20)
    c = image_curves(scores, labels)
    assert c.pro is None and np.isnan(c.aupro) and c.n_regions == 0


# --- edge cases --------------------------------------------------------------------------------------

def test_single_class_image_labels_raise_or_give_documented_nan():
    scores, _, maps, masks = random_case(0)
    with pytest.raises(UndefinedMetricError, match="I-AUROC.*no defective image"):
        evaluate(scores, np.zeros(len(scores)), maps, masks)
    with pytest.warns(UndefinedMetricWarning) as caught:
        out = evaluate(scores, np.zeros(len(scores)), maps, masks, undefined="nan")
    assert sorted(str(w.message).split()[0] for w in caught) == ["I-AP", "I-AUROC", "I-F1"]
    assert np.isnan(out["I-AUROC"]) and np.isnan(out["I-AP"]) and np.isnan(out["I-F1"])
    assert 0 < out["P-AUROC"] < 1
    with pytest.warns(UndefinedMetricWarning, match="I-AUROC.*no good image"):
        out = image_metrics(scores, np.ones(len(scores)), undefined="nan")
    assert out["I-AP"] == 1.0 and out["I-F1"] == 1.0   # defined: every image is a defect


def test_masks_without_defects_or_without_normal_pixels():
    maps = np.random.default_rng(0).random((2, 8, 8)).astype(np.float32)
    with pytest.raises(UndefinedMetricError, match="P-AUROC.*no defect pixel"):
        pixel_metrics(maps, np.zeros((2, 8, 8), bool))
    with pytest.warns(UndefinedMetricWarning):
        out = pixel_metrics(maps, np.ones((2, 8, 8), bool), undefined="nan")
    assert np.isnan(out["P-AUROC"]) and np.isnan(out["P-AUPRO"])
    assert out["P-AP"] == 1.0 and out["P-F1"] == 1.0
    with pytest.raises(UndefinedMetricError):
        f1_optimal_threshold(maps, np.zeros((2, 8, 8), bool))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_scores_are_named(bad):
    scores, labels, maps, masks = random_case(0)
    maps = maps.copy()
    maps[2, 5, 7] = bad
    with pytest.raises(MetricInputError, match=r"anomaly_maps: 1 non-finite.*image 2, pixel \(y=5, x=7\)"):
        evaluate(scores, labels, maps, masks)
    scores = scores.astype(float)
    scores[3] = bad
    with pytest.raises(MetricInputError, match="image_scores: 1 non-finite.*index 3"):
        image_metrics(scores, labels)


def test_bad_shapes_and_labels_are_named():
    scores, labels, maps, masks = random_case(0)
    with pytest.raises(MetricInputError, match="anomaly_maps has shape .* but gt_masks"):
        pixel_metrics(maps, masks[:, :-1])
    with pytest.raises(MetricInputError, match="image_scores has 5 entries but image_labels has 6"):
        image_metrics(scores[:5], labels)
    with pytest.raises(MetricInputError, match="image_scores has 6 entries but anomaly_maps has 5"):
        evaluate(scores, labels, maps[:5], masks[:5])
    with pytest.raises(MetricInputError, match=r"expected shape \(N, H, W\).*squeeze"):
        pixel_metrics(maps[:, None], masks[:, None])
    with pytest.raises(MetricInputError, match="index 1 is 2"):
        image_metrics([0.1, 0.2, 0.3], [0, 2, 1])
    with pytest.raises(MetricInputError, match="is empty"):
        image_metrics([], [])
    with pytest.raises(MetricInputError, match="undefined"):
        evaluate(scores, labels, maps, masks, undefined="ignore")
    with pytest.raises(MetricInputError, match="fpr_limit"):
        evaluate(scores, labels, maps, masks, fpr_limit=0.0)
    with pytest.raises(MetricInputError, match="max_points"):
        pixel_curves(maps, masks, max_points=1)
