/**
 * Untyped state as the protocol hands it over: every attribute of the
 * schema, null when unset. Resources never see it; they get typed models
 * ({@link ./model}).
 */
import type { TfValue } from '../tfplugin/types';

/** A resource's state, configuration or plan: every attribute of its schema, null when unset. */
export type State = { [attribute: string]: TfValue };
