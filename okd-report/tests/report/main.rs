//! okd-report's integration tests: the model filled from gating state, and the pages as
//! headless Chromium shows them.

mod report_support;

mod report_browser;
mod report_model;
