//! `architectures.<arch>.rhel-coreos-extensions`: data only RHCOS and SCOS stream metadata
//! carry (Azure disk images, AWS Windows-LI images, Azure marketplace offers).

use serde::{Deserialize, Serialize};

use crate::cloud::{Extra, ReplicatedImage};

/// The RHCOS-specific section of one architecture.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RhcosExtensions {
    /// AWS Windows License Included images per region.
    #[serde(rename = "aws-winli", default, skip_serializing_if = "Option::is_none")]
    pub aws_winli: Option<ReplicatedImage>,
    /// The Azure disk image.
    #[serde(
        rename = "azure-disk",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub azure_disk: Option<AzureDisk>,
    /// Marketplace images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<Marketplace>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An Azure disk image that can be imported into an image gallery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzureDisk {
    /// The OS version the image is of.
    pub release: String,
    /// URL of the VHD blob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Marketplace images of every cloud.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Marketplace {
    /// The Azure marketplace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureMarketplace>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Azure marketplace offers, unpaid and paid.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AzureMarketplace {
    /// The standard, unpaid image.
    #[serde(
        rename = "no-purchase-plan",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub no_purchase_plan: Option<AzureMarketplaceImages>,
    /// OpenShift Container Platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocp: Option<AzureMarketplaceImages>,
    /// OpenShift Platform Plus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opp: Option<AzureMarketplaceImages>,
    /// OpenShift Kubernetes Engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oke: Option<AzureMarketplaceImages>,
    /// OpenShift Container Platform, EMEA regions.
    #[serde(rename = "ocp-emea", default, skip_serializing_if = "Option::is_none")]
    pub ocp_emea: Option<AzureMarketplaceImages>,
    /// OpenShift Platform Plus, EMEA regions.
    #[serde(rename = "opp-emea", default, skip_serializing_if = "Option::is_none")]
    pub opp_emea: Option<AzureMarketplaceImages>,
    /// OpenShift Kubernetes Engine, EMEA regions.
    #[serde(rename = "oke-emea", default, skip_serializing_if = "Option::is_none")]
    pub oke_emea: Option<AzureMarketplaceImages>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The Hyper-V generation 1 and 2 images of one offer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AzureMarketplaceImages {
    /// Hyper-V generation 1.
    #[serde(
        rename = "hyperVGen1",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub hyper_v_gen1: Option<AzureMarketplaceImage>,
    /// Hyper-V generation 2.
    #[serde(
        rename = "hyperVGen2",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub hyper_v_gen2: Option<AzureMarketplaceImage>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One Azure marketplace image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzureMarketplaceImage {
    /// Publisher (`azureopenshift`).
    pub publisher: String,
    /// Offer (`aro4`).
    pub offer: String,
    /// SKU (`419-v2`).
    pub sku: String,
    /// Version (`419.6.20250523`).
    pub version: String,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AzureMarketplaceImage {
    /// The image URN, `publisher:offer:sku:version`.
    pub fn urn(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.publisher, self.offer, self.sku, self.version
        )
    }
}
