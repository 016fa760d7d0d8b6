import { SA } from './merchant-review-messages';
import { PROVISION_SA } from './saas-provision-messages';
import { STUCK_SA } from './stuck-messages';
import { SUBSCRIPTION_SA } from './subscription-messages';
import { IMAGE_SA } from './image-asset-messages';
import { SUPERVISION_SA } from './supervision-messages';

/** Every custom search attribute this project uses, registered on the dev server at start-up. */
export const ALL_SEARCH_ATTRIBUTES = [
  ...Object.values(SA), ...Object.values(PROVISION_SA), ...Object.values(STUCK_SA), ...Object.values(SUBSCRIPTION_SA), ...Object.values(IMAGE_SA),
  ...Object.values(SUPERVISION_SA),
];

const cliType: Record<string, string> = {
  KEYWORD: 'Keyword', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList',
};
/** `--search-attribute Name=Type` arguments for `temporal server start-dev`. */
export const searchAttributeArgs = (): string[] =>
  ALL_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${cliType[k.type] ?? k.type}`]);
