export * from './store';
export { DirectoryStore } from './directory-store';
export type { DirectoryStoreOptions } from './directory-store';
export { S3Store } from './s3-store';
export type { S3StoreOptions } from './s3-store';
export { DEFAULT_CDS_STORES, RegionStores } from './regions';
export type { RegionStoresOptions } from './regions';
