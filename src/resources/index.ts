/** Every resource and data source of the appreg provider. */
import { appConsentResource } from './app-consent';
import { groupDataSource, oauthClientDataSource } from './data-sources';
import { oauthClientResource } from './oauth-client';
import type { DataSource, Resource } from './resource';
import { tenantOauthSettingResource } from './tenant-oauth-setting';

/** The managed resources. */
export const RESOURCES: readonly Resource[] = [oauthClientResource, appConsentResource, tenantOauthSettingResource];
/** The data sources. */
export const DATA_SOURCES: readonly DataSource[] = [groupDataSource, oauthClientDataSource];
