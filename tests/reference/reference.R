# Reference numbers for the project's statistics, computed with R's own packages.
#
#   Rscript tests/reference/reference.R      (from the repository root)
#
# writes tests/reference/reference_numbers.json, which is committed: the tests
# (tests/test_reference_r.py) compare the Python code with it and need no R.
# Needs the Debian packages r-base-core, r-cran-metafor, r-cran-survival
# (and r-cran-jsonlite, which metafor pulls in).
#
# Every input is in the JSON next to its results, so a test reads the data and
# the expected numbers from one place.

suppressPackageStartupMessages({
  library(metafor)
  library(survival)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out_file <- file.path(here, "reference_numbers.json")

na_null <- function(x) if (length(x) == 0 || is.na(x)) NULL else unname(x)

# ---------------------------------------------------------------------------
# 1. Random-effects pooling of log hazard ratios
# ---------------------------------------------------------------------------
# Made-up but realistic hazard ratios of advanced-HCC trials (log HR, SE).
pool_sets <- list(
  list(name = "four_trials_heterogeneous",
       hr = c(0.35, 0.56, 0.71, 0.48), se = c(0.16, 0.19, 0.11, 0.22)),
  list(name = "three_trials_no_heterogeneity",
       hr = c(0.80, 0.83, 0.77), se = c(0.10, 0.14, 0.18)),
  list(name = "two_trials_heterogeneous",
       hr = c(0.35, 0.70), se = c(0.16, 0.12)),
  # identical estimates: Q = 0, the plain Hartung-Knapp SE is 0 and only the
  # ad hoc correction keeps an interval
  list(name = "three_trials_identical",
       hr = c(0.70, 0.70, 0.70), se = c(0.10, 0.20, 0.15))
)

# metafor finds the Paule-Mandel tau2 with uniroot at tol = .Machine$double.eps^0.25
# (about 1e-4) by default; a tight tolerance gives the root itself, so the
# comparison measures the two implementations, not two stopping rules.
pm_control <- list(tol = 1e-12)

pooling <- lapply(pool_sets, function(s) {
  yi <- log(s$hr); sei <- s$se; k <- length(yi)
  fit <- function(test) rma(yi = yi, sei = sei, method = "PM", test = test, control = pm_control)
  z     <- fit("z")       # usual random-effects SE of mu
  knha  <- fit("knha")    # plain Hartung-Knapp
  adhoc <- fit("adhoc")   # Hartung-Knapp never narrower than the usual SE
  dl   <- rma(yi = yi, sei = sei, method = "DL")
  res <- list(
    name = s$name, log_hr = yi, se = sei, k = k,
    mu = unname(coef(z)),
    se_mu = z$se,
    tau2 = z$tau2,
    Q = z$QE,
    # I2 from Cochran's Q, max(0, (Q - df)/Q): metafor prints this for DL fits
    I2_from_Q = dl$I2 / 100,
    # metafor's I2 for a PM fit uses the PM tau2 (tau2 / (tau2 + typical v)):
    # kept for information, not what the project reports
    I2_metafor_PM = z$I2 / 100,
    se_knha = knha$se,
    ci_knha = c(knha$ci.lb, knha$ci.ub),
    se_adhoc = adhoc$se,
    ci_adhoc = c(adhoc$ci.lb, adhoc$ci.ub)
  )
  if (k >= 3) {
    # Higgins, Thompson & Spiegelhalter (2009): mu +- t(k-2) sqrt(tau2 + SE(mu)^2),
    # SE(mu) the usual RE SE: metafor's pi.type = "riley" on the test = "z" fit
    p <- predict(z, pi.type = "riley")
    res$pi_riley <- c(p$pi.lb, p$pi.ub)
    # metafor's default on the Hartung-Knapp fit (t(k-1), HK SE), for information
    p2 <- predict(knha)
    res$pi_metafor_knha_default <- c(p2$pi.lb, p2$pi.ub)
  }
  res
})

# ---------------------------------------------------------------------------
# 2. Kaplan-Meier, median, RMST and Cox on small data sets
# ---------------------------------------------------------------------------
hand_a <- data.frame(
  time  = c(1.2, 2.5, 2.5, 3.0, 4.1, 4.1, 5.6, 7.0, 8.3, 9.9, 12.0, 12.0),
  event = c(1,   1,   1,   0,   1,   0,   1,   1,   0,   1,   0,    0))
# arm B: five deaths among ten patients by month 6 and none censored before,
# so the curve sits at exactly 50% from month 6 to month 8
hand_b <- data.frame(
  time  = c(2, 3, 3, 5, 6, 8, 9, 11, 14, 15),
  event = c(1, 1, 1, 1, 1, 1, 0, 1,  0,  0))
# four deaths then four censored: the curve ends flat at exactly 50%
hand_c <- data.frame(
  time  = c(1, 2, 3, 4, 5, 6, 7, 8),
  event = c(1, 1, 1, 1, 0, 0, 0, 0))

aml_m  <- subset(aml, x == "Maintained")[, c("time", "status")]
aml_n  <- subset(aml, x == "Nonmaintained")[, c("time", "status")]
names(aml_m) <- names(aml_n) <- c("time", "event")
lung_f <- subset(lung, sex == 2); lung_f <- data.frame(time = lung_f$time, event = lung_f$status - 1)
lung_m <- subset(lung, sex == 1); lung_m <- data.frame(time = lung_m$time, event = lung_m$status - 1)

surv_sets <- list(
  list(name = "aml", note = "survival::aml, maintained (experimental) vs nonmaintained chemotherapy, weeks",
       experimental = aml_m, reference = aml_n, times = c(12, 23, 30, 45), taus = c(40, 45)),
  list(name = "lung", note = "survival::lung, women (experimental) vs men, days; status 2 = death",
       experimental = lung_f, reference = lung_m, times = c(180, 365, 500), taus = c(365, 730)),
  list(name = "hand_made", note = "made-up months with tied deaths, a death and a censoring at the same time, and a curve flat at 50%",
       experimental = hand_a, reference = hand_b, times = c(2.5, 4.1, 6, 10), taus = c(10, 12)),
  list(name = "hand_made_flat_tail", note = "made-up months: an arm whose curve ends at exactly 50% (experimental) vs arm B above",
       experimental = hand_c, reference = hand_b, times = c(3, 4, 7), taus = c(6, 8))
)

arm_numbers <- function(d, times, taus) {
  fit <- survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log")
  tab <- summary(fit)$table
  at <- summary(fit, times = times)
  rm <- lapply(taus, function(tau) {
    t <- summary(fit, rmean = tau)$table
    list(tau = tau, rmean = unname(t["rmean"]), se = unname(t["se(rmean)"]))
  })
  q <- quantile(fit, 0.5)
  list(time = d$time, event = d$event,
       n = nrow(d), events = sum(d$event),
       # the median printed by print(survfit): where the curve sits at exactly
       # 50%, the midpoint to the next drop, else the first time at or below 50%
       median = na_null(tab["median"]), median_lower = na_null(tab["0.95LCL"]),
       median_upper = na_null(tab["0.95UCL"]),
       # quantile.survfit agrees except for a curve ending flat at 50%, where it
       # takes the midpoint to the last follow-up time: for information only
       quantile_median = na_null(q$quantile), quantile_lower = na_null(q$lower),
       quantile_upper = na_null(q$upper),
       at = list(times = at$time, survival = at$surv, lower = at$lower, upper = at$upper),
       rmst = rm)
}

survival_ref <- lapply(surv_sets, function(s) {
  both <- rbind(cbind(s$experimental, arm = 1), cbind(s$reference, arm = 0))
  cox <- coxph(Surv(time, event) ~ arm, data = both, ties = "efron")
  cs <- summary(cox)
  list(name = s$name, note = s$note,
       experimental = arm_numbers(s$experimental, s$times, s$taus),
       reference = arm_numbers(s$reference, s$times, s$taus),
       cox = list(ties = "efron", log_hr = unname(coef(cox)), se = unname(sqrt(diag(vcov(cox)))),
                  hr = unname(cs$conf.int[1, "exp(coef)"]),
                  ci_low = unname(cs$conf.int[1, "lower .95"]), ci_high = unname(cs$conf.int[1, "upper .95"]),
                  p_wald = unname(cs$coefficients[1, "Pr(>|z|)"])))
})

# ---------------------------------------------------------------------------
# 3. Proportions: Wilson, Newcombe's risk difference, risk ratio
# ---------------------------------------------------------------------------
wilson <- function(x, n) {
  # prop.test without continuity correction is the Wilson score interval
  ci <- prop.test(x, n, correct = FALSE)$conf.int
  c(x / n, ci[1], ci[2])
}
wilson_cases <- list(c(81, 263), c(15, 148), c(0, 20), c(20, 20), c(1, 29), c(29, 60))
wilson_ref <- lapply(wilson_cases, function(c) {
  w <- suppressWarnings(wilson(c[1], c[2]))
  list(x = c[1], n = c[2], p = w[1], lower = w[2], upper = w[3])
})

# Newcombe (1998) method 10, by hand from the two Wilson intervals
newcombe <- function(x1, n1, x2, n2) {
  a <- suppressWarnings(wilson(x1, n1)); b <- suppressWarnings(wilson(x2, n2))
  d <- a[1] - b[1]
  c(d, d - sqrt((a[1] - a[2])^2 + (b[3] - b[1])^2), d + sqrt((a[3] - a[1])^2 + (b[1] - b[2])^2))
}
two_arm_cases <- list(c(56, 70, 48, 80), c(9, 10, 3, 10), c(5, 56, 0, 29), c(24, 55, 8, 59), c(3, 45, 12, 44),
                      c(0, 30, 4, 31))
newcombe_ref <- lapply(two_arm_cases, function(c) {
  r <- newcombe(c[1], c[2], c[3], c[4])
  list(x1 = c[1], n1 = c[2], x2 = c[3], n2 = c[4], difference = r[1], lower = r[2], upper = r[3])
})

# risk ratio: metafor::escalc, which adds 1/2 to every cell of a table with a zero cell
rr_ref <- lapply(two_arm_cases, function(c) {
  e <- escalc(measure = "RR", ai = c[1], n1i = c[2], ci = c[3], n2i = c[4])
  z <- qnorm(0.975)
  list(x1 = c[1], n1 = c[2], x2 = c[3], n2 = c[4], log_rr = e$yi[1], se = sqrt(e$vi[1]),
       rr = exp(e$yi[1]), lower = exp(e$yi[1] - z * sqrt(e$vi[1])), upper = exp(e$yi[1] + z * sqrt(e$vi[1])),
       corrected = any(c(c[1], c[3]) == 0) || any(c(c[1] == c[2], c[3] == c[4])))
})

out <- list(
  generated_by = "tests/reference/reference.R",
  r_version = R.version.string,
  packages = list(metafor = as.character(packageVersion("metafor")),
                  survival = as.character(packageVersion("survival"))),
  pooling = pooling,
  survival = survival_ref,
  proportions = list(wilson = wilson_ref, newcombe = newcombe_ref, risk_ratio = rr_ref)
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"), out_file)
cat("wrote", out_file, "\n")
